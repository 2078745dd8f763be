/**
 * ESI Leap's resource types: `ironic_node` (a few fake Ironic nodes), `dummy_node` (in memory
 * here; a missing or "broken" node reads as ESI's `unknown-*` placeholders, like a missing JSON
 * file) and `test_node` (FakeNode: owner "12345", no state).
 */
import { raise } from './http';
import type { Database, DummyNode, IronicNode, Lease, ResourceType } from './model';

export const RESOURCE_TYPES: ResourceType[] = ['ironic_node', 'dummy_node', 'test_node'];

export interface ResourceView {
	type: ResourceType;
	uuid: string;
	name: string;
	ownerProjectId: string;
	resourceClass: string;
	properties: Record<string, unknown>;
	provisionState: string;
	powerState: string;
}

export function checkResourceType(type: string): ResourceType {
	if (!(RESOURCE_TYPES as string[]).includes(type)) raise(500, `${type} resource type unknown.`);
	return type as ResourceType;
}

export function findIronicNode(db: Database, uuidOrName: string): IronicNode | undefined {
	return db.ironicNodes.find((node) => node.uuid === uuidOrName || node.name === uuidOrName);
}

function findDummyNode(db: Database, uuid: string): DummyNode | undefined {
	return db.dummyNodes.find((node) => node.uuid === uuid);
}

/** The `resource_uuid` ESI stores: Ironic names resolve to UUIDs, other types are verbatim. */
export function resolveResourceUuid(db: Database, type: ResourceType, uuidOrName: string): string {
	if (type !== 'ironic_node') return uuidOrName;
	const node = findIronicNode(db, uuidOrName);
	if (!node) raise(500, `Node ${uuidOrName} could not be found. (HTTP 404)`);
	return node.uuid;
}

function withoutLeaseKeys(properties: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(
		Object.entries(properties).filter(([key]) => key !== 'lease_uuid' && key !== 'capabilities'),
	);
}

export function describeResource(db: Database, type: ResourceType, uuid: string): ResourceView {
	if (type === 'ironic_node') {
		const node = findIronicNode(db, uuid);
		if (node && !node.broken) {
			return {
				type,
				uuid: node.uuid,
				name: node.name,
				ownerProjectId: node.ownerProjectId,
				resourceClass: node.resourceClass,
				properties: withoutLeaseKeys(node.properties),
				provisionState: node.provisionState,
				powerState: node.powerState,
			};
		}
		return unknownResource(type, uuid, node?.name ?? uuid);
	}
	if (type === 'dummy_node') {
		const node = findDummyNode(db, uuid);
		if (!node || node.broken) return unknownResource(type, uuid, `dummy-node-${uuid}`);
		return {
			type,
			uuid,
			name: `dummy-node-${uuid}`,
			ownerProjectId: node.ownerProjectId,
			resourceClass: node.resourceClass,
			properties: node.properties,
			provisionState: node.provisionState,
			powerState: node.powerState,
		};
	}
	return {
		type,
		uuid,
		name: `test-node-${uuid}`,
		ownerProjectId: '12345',
		resourceClass: 'fake',
		properties: {},
		provisionState: 'available',
		powerState: 'Off',
	};
}

function unknownResource(type: ResourceType, uuid: string, name: string): ResourceView {
	return {
		type,
		uuid,
		name,
		ownerProjectId: 'unknown-owner',
		resourceClass: 'unknown-class',
		properties: {},
		provisionState: 'unknown-provision-state',
		powerState: 'unknown-power-state',
	};
}

type NodeLookup = {
	node: IronicNode | DummyNode | undefined;
	reachable: boolean;
};

function leaseNode(db: Database, lease: Lease): NodeLookup {
	if (lease.resourceType === 'test_node') return { node: undefined, reachable: true };
	const node =
		lease.resourceType === 'ironic_node'
			? findIronicNode(db, lease.resourceUuid)
			: findDummyNode(db, lease.resourceUuid);
	return { node, reachable: node !== undefined && !node.broken };
}

/** Fulfil: point the node at the lease and its lessee. False when the node is unreachable. */
export function assignLease(db: Database, lease: Lease): boolean {
	const { node, reachable } = leaseNode(db, lease);
	if (!reachable) return false;
	if (!node) return true;
	if ('name' in node) {
		node.properties = { ...node.properties, lease_uuid: lease.uuid };
		node.lesseeProjectId = lease.projectId;
	} else {
		node.leaseUuid = lease.uuid;
		node.leaseProjectId = lease.projectId;
	}
	return true;
}

/** Release: only when the node still points at this lease. False when unreachable. */
export function releaseLease(db: Database, lease: Lease): boolean {
	const { node, reachable } = leaseNode(db, lease);
	if (!reachable) return false;
	if (!node) return true;
	if ('name' in node) {
		if (node.properties.lease_uuid !== lease.uuid) return true;
		node.properties = withoutLeaseKeys(node.properties);
		node.lesseeProjectId = null;
		db.consoleTokens = db.consoleTokens.filter((token) => token.nodeUuid !== node.uuid);
	} else if (node.leaseUuid === lease.uuid) {
		node.leaseUuid = null;
		node.leaseProjectId = null;
	}
	return true;
}
