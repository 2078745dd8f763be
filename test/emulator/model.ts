/**
 * The emulator's in-memory database: Keystone identities, Ironic and dummy nodes, offers,
 * leases and events. Seed values follow the captures (run 2 project ids, node names and
 * properties) so emulator output reads like the real one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { NaiveTime } from './clock';

export type Role = 'admin' | 'owner' | 'lessee';

export interface Project {
	id: string;
	name: string;
}

export interface ApplicationCredential {
	id: string;
	name: string;
	secret: string;
}

export interface User {
	id: string;
	name: string;
	password: string;
	domainId: string;
	project: Project;
	roles: Role[];
	applicationCredential: ApplicationCredential;
}

export type ResourceType = 'ironic_node' | 'dummy_node' | 'test_node';

export interface IronicNode {
	uuid: string;
	name: string;
	ownerProjectId: string;
	lesseeProjectId: string | null;
	resourceClass: string;
	properties: Record<string, unknown>;
	provisionState: string;
	powerState: string;
	maintenance: boolean;
	/** Fault injection: Ironic refuses to change the node (fulfil and release fail). */
	broken: boolean;
}

export interface DummyNode {
	uuid: string;
	ownerProjectId: string;
	resourceClass: string;
	properties: Record<string, unknown>;
	provisionState: string;
	powerState: string;
	leaseUuid: string | null;
	leaseProjectId: string | null;
	/** Fault injection: the backing JSON file is missing (ESI falls back to `unknown-*`). */
	broken: boolean;
}

export type LeaseStatus =
	| 'created'
	| 'active'
	| 'deleted'
	| 'expired'
	| 'error'
	| 'wait cancel'
	| 'wait expire'
	| 'wait fulfill';

export type OfferStatus = 'available' | 'expired' | 'deleted' | 'error';

export interface Offer {
	id: number;
	uuid: string;
	name: string | null;
	projectId: string;
	lesseeId: string | null;
	resourceType: ResourceType;
	resourceUuid: string;
	startTime: NaiveTime;
	endTime: NaiveTime;
	status: OfferStatus;
	properties: Record<string, unknown>;
	parentLeaseUuid: string | null;
}

export interface Lease {
	id: number;
	uuid: string;
	name: string | null;
	projectId: string;
	ownerId: string;
	resourceType: ResourceType;
	resourceUuid: string;
	startTime: NaiveTime;
	endTime: NaiveTime;
	fulfillTime: NaiveTime | null;
	expireTime: NaiveTime | null;
	status: LeaseStatus;
	properties: Record<string, unknown>;
	purpose: string | null;
	offerUuid: string | null;
	parentLeaseUuid: string | null;
}

export interface EventRow {
	id: number;
	eventType: string;
	eventTime: NaiveTime;
	objectType: string | null;
	objectUuid: string | null;
	resourceType: string | null;
	resourceUuid: string | null;
	lesseeId: string | null;
	ownerId: string | null;
	/** False while the row's "transaction" has not committed (out-of-order injection). */
	visible: boolean;
}

export interface ConsoleToken {
	nodeUuid: string;
	token: string;
	expiresAt: number;
}

export interface Database {
	projects: Project[];
	users: User[];
	ironicNodes: IronicNode[];
	dummyNodes: DummyNode[];
	offers: Offer[];
	leases: Lease[];
	/** Sorted by id. */
	events: EventRow[];
	consoleTokens: ConsoleToken[];
	nextOfferId: number;
	nextLeaseId: number;
	nextEventId: number;
	/**
	 * Who Ironic lets list nodes (its policy, so ESI's GET /v1/nodes): `admin` only, as the
	 * stack of the rest-NN captures did (rest-20: a lessee gets ESI's 500 with Ironic's 403;
	 * the default), or also each `owner-or-lessee` their own nodes, as the edge stack did
	 * (edge-319..323, 386).
	 */
	ironicNodeListPolicy?: 'admin' | 'owner-or-lessee';
}

export const PROJECT_IDS = {
	admin: 'cd1c5ebf04de412ca4bbb6ddd344261a',
	service: '3b1e0a8c5c2f4e0f9f6d7a2b1c0d9e8f',
	owner: '699ac39361b14c13be1b67b6d5b919b5',
	lessee: '583e2ad8c39d421bbb61558a98f379c5',
} as const;

export function hex32(): string {
	return randomBytes(16).toString('hex');
}

export { randomUUID };

export interface SeedOptions {
	/** Passwords per user; defaults are printed by the CLI and returned by startEmulator. */
	passwords?: Partial<Record<Role, string>>;
}

function makeUser(
	role: Role,
	id: string,
	project: Project,
	password: string,
	credentialId: string,
	credentialSecret: string,
): User {
	return {
		id,
		name: role,
		password,
		domainId: 'default',
		project,
		roles: [role],
		applicationCredential: {
			id: credentialId,
			name: `${role}-n8n`,
			secret: credentialSecret,
		},
	};
}

/** A dummy node as ESI's dummy-node plugin starts one: available, powered off, not leased. */
export function newDummyNode(
	uuid: string,
	ownerProjectId: string,
	properties: Record<string, unknown>,
): DummyNode {
	return {
		uuid,
		ownerProjectId,
		resourceClass: 'dummy',
		properties,
		provisionState: 'available',
		powerState: 'power off',
		leaseUuid: null,
		leaseProjectId: null,
		broken: false,
	};
}

export function seedDatabase(options: SeedOptions = {}): Database {
	const projects: Project[] = [
		{ id: PROJECT_IDS.admin, name: 'admin' },
		{ id: PROJECT_IDS.service, name: 'service' },
		{ id: PROJECT_IDS.owner, name: 'esi-owner' },
		{ id: PROJECT_IDS.lessee, name: 'esi-lessee' },
	];
	const [adminProject, , ownerProject, lesseeProject] = projects;
	const passwords = {
		admin: 'admin-pass',
		owner: 'owner-pass',
		lessee: 'lessee-pass',
		...options.passwords,
	};
	const users = [
		makeUser(
			'admin',
			'0d0f0a3cb06f4b2c8a1e7c4b9d2f6a10',
			adminProject,
			passwords.admin,
			'a1a1a1a1b2b2c3c3d4d4e5e5f6f6a7a7',
			'admin-app-secret',
		),
		makeUser(
			'owner',
			'd725a6db4bd74128b74299269cf34c8e',
			ownerProject,
			passwords.owner,
			'b1b1b1b1c2c2d3d3e4e4f5f5a6a6b7b7',
			'owner-app-secret',
		),
		makeUser(
			'lessee',
			'eb7a2e77c1634cbbb56fbfcaff8a996e',
			lesseeProject,
			passwords.lessee,
			'c1c1c1c1d2d2e3e3f4f4a5a5b6b6c7c7',
			'lessee-app-secret',
		),
	];
	const ironicProperties = () => ({ cpus: 8, memory_mb: 16384, local_gb: 100 });
	const ironicNode = (uuid: string, name: string): IronicNode => ({
		uuid,
		name,
		ownerProjectId: PROJECT_IDS.owner,
		lesseeProjectId: null,
		resourceClass: 'baremetal',
		properties: ironicProperties(),
		provisionState: 'available',
		powerState: 'power off',
		maintenance: false,
		broken: false,
	});
	const dummyNode = (uuid: string, properties: Record<string, unknown>) =>
		newDummyNode(uuid, PROJECT_IDS.owner, properties);
	return {
		projects,
		users,
		ironicNodes: [
			ironicNode('5ee2c08e-020e-4ef9-805b-8452d53104b5', 'fake-node-1'),
			ironicNode('8ef53521-5cf3-4fba-8a38-869f20836ee7', 'fake-node-2'),
		],
		dummyNodes: [
			dummyNode('16f8dd61-a7b5-41ff-82cc-0e3b4395c3dc', {
				cpus: 4,
				memory_mb: 8192,
				local_gb: 40,
			}),
			dummyNode('a704a3e4-4222-4767-96b1-b9c44bba0759', {
				cpus: 4,
				memory_mb: 8192,
				local_gb: 40,
			}),
			dummyNode('4853132a-7349-4acf-a223-a41390c248d5', {
				cpus: 2,
				memory_mb: 4096,
				local_gb: 20,
			}),
		],
		offers: [],
		leases: [],
		events: [],
		consoleTokens: [],
		nextOfferId: 1,
		nextLeaseId: 1,
		nextEventId: 1,
	};
}

export function projectName(db: Database, id: string | null): string {
	if (!id) return '';
	return db.projects.find((project) => project.id === id)?.name ?? '';
}
