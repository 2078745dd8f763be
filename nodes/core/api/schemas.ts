/**
 * Wire schemas for ESI Leap responses (spec §3), checked against the captured rest-*.json.
 * Objects pass unknown keys through, so a newer ESI Leap that adds fields keeps working.
 * Datetimes are converted to ISO 8601 UTC (`...Z`) while parsing, so nothing downstream ever
 * sees a naive time.
 */
import { z } from 'zod';

import { tryParseEsiTime } from './time';

const esiTime = z.string().transform((value, ctx) => {
	const iso = tryParseEsiTime(value);
	if (iso === undefined) {
		ctx.addIssue({
			code: z.ZodIssueCode.custom,
			message: `"${value}" is not an ESI Leap date-time`,
		});
		return z.NEVER;
	}
	return iso;
});

const jsonObject = z.record(z.unknown());

export const offerSchema = z
	.object({
		name: z.string().nullable(),
		uuid: z.string(),
		project_id: z.string(),
		project: z.string().nullable(),
		lessee_id: z.string().nullable(),
		lessee: z.string().nullable(),
		resource_type: z.string(),
		resource_uuid: z.string(),
		resource: z.string().nullable(),
		resource_class: z.string().nullable(),
		resource_properties: jsonObject,
		start_time: esiTime,
		end_time: esiTime,
		status: z.string(),
		properties: jsonObject,
		availabilities: z.array(z.tuple([esiTime, esiTime])),
		parent_lease_uuid: z.string().nullable(),
	})
	.passthrough();

export const leaseSchema = z
	.object({
		name: z.string().nullable(),
		uuid: z.string(),
		project_id: z.string(),
		project: z.string().nullable(),
		owner_id: z.string(),
		owner: z.string().nullable(),
		resource_type: z.string(),
		resource_uuid: z.string(),
		resource_class: z.string().nullable(),
		resource_properties: jsonObject,
		resource: z.string().nullable(),
		start_time: esiTime,
		fulfill_time: esiTime.nullable(),
		expire_time: esiTime.nullable(),
		end_time: esiTime,
		status: z.string(),
		properties: jsonObject,
		purpose: z.string().nullable(),
		offer_uuid: z.string().nullable(),
		parent_lease_uuid: z.string().nullable(),
	})
	.passthrough();

export const nodeSchema = z
	.object({
		name: z.string().nullable(),
		/** Project NAME, not ID (spec §10 item 10). */
		owner: z.string().nullable(),
		/** The string "True" or "False" (spec §10 item 11). */
		maintenance: z.string(),
		provision_state: z.string().nullable(),
		target_provision_state: z.string().nullable(),
		power_state: z.string().nullable(),
		target_power_state: z.string().nullable(),
		properties: jsonObject,
		resource_class: z.string().nullable(),
		uuid: z.string(),
		/** Key omitted when the node has no current offer / lease. */
		offer_uuid: z.string().optional(),
		lease_uuid: z.string().optional(),
		lessee: z.string().nullable(),
		future_offers: z.array(z.string()),
		future_leases: z.array(z.string()),
	})
	.passthrough();

export const eventSchema = z
	.object({
		id: z.number().int(),
		event_type: z.string(),
		event_time: esiTime,
		object_type: z.string().nullable(),
		object_uuid: z.string().nullable(),
		resource_type: z.string().nullable(),
		resource_uuid: z.string().nullable(),
		lessee_id: z.string().nullable(),
		owner_id: z.string().nullable(),
	})
	.passthrough();

export const consoleTokenSchema = z
	.object({
		node_uuid: z.string(),
		token: z.string(),
		access_url: z.string(),
	})
	.passthrough();

const versionSchema = z.object({ id: z.string(), status: z.string().optional() }).passthrough();

/** `GET /` (unauthenticated). */
export const versionDocumentSchema = z
	.object({
		name: z.string(),
		default_version: versionSchema,
		versions: z.array(versionSchema).optional(),
	})
	.passthrough();

export const offerListSchema = z.object({ offers: z.array(offerSchema) }).passthrough();
export const leaseListSchema = z.object({ leases: z.array(leaseSchema) }).passthrough();
export const nodeListSchema = z.object({ nodes: z.array(nodeSchema) }).passthrough();
export const eventListSchema = z.object({ events: z.array(eventSchema) }).passthrough();

export type Offer = z.output<typeof offerSchema>;
export type Lease = z.output<typeof leaseSchema>;
export type EsiNode = z.output<typeof nodeSchema>;
export type EsiEventRow = z.output<typeof eventSchema>;
export type ConsoleToken = z.output<typeof consoleTokenSchema>;
export type VersionDocument = z.output<typeof versionDocumentSchema>;

/** `leases[3].end_time` style path of a zod issue, for error messages that name the field. */
export function issuePath(path: ReadonlyArray<string | number>): string {
	return path.reduce<string>(
		(text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${key}` : key),
		'',
	);
}

const wsmeErrorSchema = z.object({ faultstring: z.string() }).passthrough();
const keystoneErrorSchema = z
	.object({ error: z.object({ message: z.string() }).passthrough() })
	.passthrough();

/**
 * ESI Leap's own message from an error body: WSME `{faultstring}` for everything ESI raises,
 * keystonemiddleware `{error:{message}}` for 401s. Anything else (405's HTML page) yields
 * undefined: the status alone then has to speak.
 */
export function parseErrorMessage(body: unknown): string | undefined {
	const wsme = wsmeErrorSchema.safeParse(body);
	if (wsme.success) return wsme.data.faultstring;
	const keystone = keystoneErrorSchema.safeParse(body);
	if (keystone.success) return keystone.data.error.message;
	return undefined;
}
