/**
 * Picks ESI Leap's endpoint (service type `lease`) from a Keystone catalog, or takes the
 * user's override. The catalog URL is ESI Leap's ROOT (`http://host:7777`); the client adds
 * `/v1/...` itself, so a `/v1` suffix on either source is removed here.
 */
import { EsiLeapError } from '../errors';
import type { CatalogEntry } from './auth';

export type EndpointInterface = 'public' | 'internal' | 'admin';

export const LEASE_SERVICE_TYPE = 'lease';

export interface EndpointSelection {
	interface: EndpointInterface;
	/** Empty/undefined: any region, but only if exactly one matches. */
	region?: string;
}

/** `http://h:7777/v1/` → `http://h:7777`. */
export function normalizeLeaseEndpoint(url: string): string {
	return url.trim().replace(/\/+$/, '').replace(/\/v1$/, '');
}

export function selectLeaseEndpoint(catalog: CatalogEntry[], selection: EndpointSelection): string {
	const services = catalog.filter((entry) => entry.type === LEASE_SERVICE_TYPE);
	const region = selection.region?.trim() || undefined;
	const candidates = services
		.flatMap((service) => service.endpoints)
		.filter((endpoint) => endpoint.interface === selection.interface)
		.filter((endpoint) => !region || endpoint.region === region || endpoint.region_id === region);
	const distinct = [...new Set(candidates.map((endpoint) => normalizeLeaseEndpoint(endpoint.url)))];
	if (distinct.length === 1) return distinct[0];

	const available = describeCatalog(catalog);
	if (distinct.length === 0) {
		const wanted = `service type "${LEASE_SERVICE_TYPE}", interface "${selection.interface}"${
			region ? `, region "${region}"` : ''
		}`;
		throw new EsiLeapError(
			'config',
			`The Keystone catalog has no ESI Leap endpoint for ${wanted}. The catalog has: ${available}. ` +
				'Pick another interface/region, or set the ESI Leap endpoint override.',
			{ field: region ? 'region' : 'interface' },
		);
	}
	throw new EsiLeapError(
		'config',
		`The Keystone catalog has ${distinct.length} ESI Leap endpoints for interface "${selection.interface}" (${distinct.join(
			', ',
		)}): set the region to pick one.`,
		{ field: 'region' },
	);
}

/** `lease: public@RegionOne http://h:7777; identity: public@RegionOne ...` (URLs carry no secrets). */
function describeCatalog(catalog: CatalogEntry[]): string {
	if (catalog.length === 0) return 'no services (is the token project-scoped?)';
	return catalog
		.map((entry) => {
			const endpoints = entry.endpoints
				.map((endpoint) => `${endpoint.interface}@${endpoint.region ?? endpoint.region_id ?? '-'}`)
				.join(', ');
			return `${entry.type} [${endpoints || 'no endpoints'}]`;
		})
		.join('; ');
}

/** The override when set, otherwise the catalog's choice. */
export function resolveLeaseEndpoint(
	catalog: CatalogEntry[],
	selection: EndpointSelection,
	override?: string,
): string {
	const fixed = override?.trim();
	if (fixed) {
		if (!/^https?:\/\/[^/]/i.test(fixed)) {
			throw new EsiLeapError(
				'invalid_input',
				`ESI Leap endpoint override must be an http(s) URL, got "${fixed}"`,
				{ field: 'endpointOverride' },
			);
		}
		return normalizeLeaseEndpoint(fixed);
	}
	return selectLeaseEndpoint(catalog, selection);
}
