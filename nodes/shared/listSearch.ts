/**
 * "From List" choices of the lease, offer and node locators. ESI Leap has no paging or search,
 * so each call lists everything visible (with ESI's default status filters: live leases,
 * available offers) and filters by name or UUID here.
 */
import type {
	ILoadOptionsFunctions,
	INodeListSearchItems,
	INodeListSearchResult,
} from 'n8n-workflow';

import { createEsiLeapClient, type EsiLeapClient } from '../core/api/client';
import { toNodeError } from './errors';
import { esiLeapApiTransport } from './transport';

interface Choice {
	name: string | null;
	uuid: string;
	/** Shown after the name, to tell same-named records apart. */
	detail: string;
}

async function search(
	context: ILoadOptionsFunctions,
	filter: string | undefined,
	list: (client: EsiLeapClient) => Promise<Choice[]>,
): Promise<INodeListSearchResult> {
	let choices: Choice[];
	try {
		choices = await list(createEsiLeapClient(esiLeapApiTransport(context)));
	} catch (error) {
		throw toNodeError(context.getNode(), error);
	}
	const needle = filter?.trim().toLowerCase() ?? '';
	const results: INodeListSearchItems[] = choices
		.filter(
			(choice) =>
				needle === '' ||
				(choice.name ?? '').toLowerCase().includes(needle) ||
				choice.uuid.toLowerCase().includes(needle),
		)
		.map((choice) => ({
			name: `${choice.name || choice.uuid} (${choice.detail})`,
			value: choice.uuid,
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
	return { results };
}

export async function searchLeases(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	return await search(this, filter, async (client) =>
		(await client.listLeases()).map((lease) => ({
			name: lease.name,
			uuid: lease.uuid,
			detail: `${lease.status}, ${lease.resource || lease.resource_uuid}`,
		})),
	);
}

export async function searchOffers(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	return await search(this, filter, async (client) =>
		(await client.listOffers({ status: 'available' })).map((offer) => ({
			name: offer.name,
			uuid: offer.uuid,
			detail: `${offer.resource || offer.resource_uuid}${offer.resource_class ? `, ${offer.resource_class}` : ''}`,
		})),
	);
}

export async function searchNodes(
	this: ILoadOptionsFunctions,
	filter?: string,
): Promise<INodeListSearchResult> {
	return await search(this, filter, async (client) =>
		(await client.listNodes()).map((node) => ({
			name: node.name,
			uuid: node.uuid,
			detail: `${node.provision_state ?? 'unknown state'}${node.resource_class ? `, ${node.resource_class}` : ''}`,
		})),
	);
}
