/**
 * Typed ESI Leap REST client (spec §3) over an injected Transport. ESI's quirks (spec §10) are
 * handled here and nowhere else: naive-UTC times, 500-for-not-found, `null` DELETE bodies,
 * unordered events, 400 on unknown query parameters, claim-by-UUID only.
 */
import type { ZodType, ZodTypeDef } from 'zod';

import {
	EsiLeapError,
	isEsiLeapError,
	isTimeout,
	type EsiLeapErrorKind,
	type EsiLeapSubject,
} from '../errors';
import {
	consoleTokenSchema,
	eventListSchema,
	eventSchema,
	issuePath,
	leaseListSchema,
	leaseSchema,
	nodeListSchema,
	offerListSchema,
	offerSchema,
	parseErrorMessage,
	versionDocumentSchema,
	type ConsoleToken,
	type EsiEventRow,
	type EsiNode,
	type Lease,
	type Offer,
	type VersionDocument,
} from './schemas';
import { forEachJsonArrayElement, MalformedJsonError } from './jsonArrayStream';
import { toEsiTime } from './time';
import { isByteStream, type HttpMethod, type HttpResponse, type Transport } from './transport';

/** A time the caller gives us: a Date, or an ISO 8601 string (no offset = UTC). */
export type TimeInput = Date | string;

export interface OfferListFilters {
	projectId?: string;
	resourceType?: string;
	resourceUuid?: string;
	resourceClass?: string;
	/** Offers whose own window contains [startTime, endTime]; both or neither. */
	startTime?: TimeInput;
	endTime?: TimeInput;
	/** Offers free over [availableStartTime, availableEndTime]; both or neither. */
	availableStartTime?: TimeInput;
	availableEndTime?: TimeInput;
	/** Default (unset): `available` and `error`. `any` = every status. */
	status?: string;
}

export interface OfferCreateInput {
	resourceUuid: string;
	resourceType?: string;
	name?: string;
	lesseeId?: string;
	startTime?: TimeInput;
	endTime?: TimeInput;
	properties?: Record<string, unknown>;
}

export interface OfferClaimInput {
	name?: string;
	startTime?: TimeInput;
	endTime?: TimeInput;
	properties?: Record<string, unknown>;
	purpose?: string;
}

export interface LeaseListFilters {
	projectId?: string;
	ownerId?: string;
	/** Default (unset): the non-terminal statuses. `any` = every status. */
	status?: string;
	/** Leases overlapping [startTime, endTime]; both or neither. */
	startTime?: TimeInput;
	endTime?: TimeInput;
	offerUuid?: string;
	/** `all` = every project's leases (admin only). */
	view?: 'all';
	resourceType?: string;
	resourceUuid?: string;
	resourceClass?: string;
}

export interface LeaseCreateInput {
	resourceUuid: string;
	/** The lessee project (ID or name). */
	projectId: string;
	resourceType?: string;
	name?: string;
	startTime?: TimeInput;
	endTime?: TimeInput;
	properties?: Record<string, unknown>;
	purpose?: string;
}

export interface NodeListFilters {
	resourceClass?: string;
	owner?: string;
	lessee?: string;
}

export interface EventListFilters {
	/** Events with `id > lastEventId` (0 means no filter, as in ESI). */
	lastEventId?: number;
	/** Events with `event_time > lastEventTime` (strict). */
	lastEventTime?: TimeInput;
	lesseeOrOwnerId?: string;
	eventType?: string;
	resourceType?: string;
	resourceUuid?: string;
}

/**
 * One row of `GET /v1/events` as read from the stream: JSON-parsed, its `id` checked, nothing
 * else yet. A caller checks the rows it keeps with checkEventRow, so a scan over a backlog
 * validates only what it uses.
 */
export interface ScannedEventRow {
	id: number;
	/** Index in ESI's answer, for error messages (`events[12].event_time`). */
	position: number;
	value: Record<string, unknown>;
}

export interface EventScanSummary {
	/** Rows ESI returned. */
	count: number;
	/** The largest id among them; undefined when there were none. */
	newestId?: number;
}

export interface ConsoleTokenCreateInput {
	nodeUuidOrName: string;
	tokenTtlSeconds?: number;
}

/** What a DELETE yields: ESI answers 200 with the literal body `null`. */
export interface DeleteResult {
	deleted: true;
	/** The UUID or name the caller passed. */
	id: string;
}

export interface EsiLeapClientOptions {
	/** Per-request timeout (default 30 s). */
	timeoutMs?: number;
	/** DELETEs can block while ESI's notifier waits for RabbitMQ (spec §10 item 13); default 120 s. */
	deleteTimeoutMs?: number;
}

export interface EsiLeapClient {
	/** `GET /`: the unauthenticated version document; a reachability probe. */
	root(): Promise<VersionDocument>;

	listOffers(filters?: OfferListFilters): Promise<Offer[]>;
	getOffer(uuidOrName: string): Promise<Offer>;
	createOffer(input: OfferCreateInput): Promise<Offer>;
	deleteOffer(uuidOrName: string): Promise<DeleteResult>;
	/** Needs the offer's UUID (ESI copies the path into the lease); see resolveOfferUuid. */
	claimOffer(offerUuid: string, input?: OfferClaimInput): Promise<Lease>;

	listLeases(filters?: LeaseListFilters): Promise<Lease[]>;
	getLease(uuidOrName: string): Promise<Lease>;
	createLease(input: LeaseCreateInput): Promise<Lease>;
	updateLeaseEndTime(uuidOrName: string, endTime: TimeInput): Promise<Lease>;
	deleteLease(uuidOrName: string): Promise<DeleteResult>;

	listNodes(filters?: NodeListFilters): Promise<EsiNode[]>;

	/** Sorted by id ascending (ESI's own order is undefined). */
	listEvents(filters?: EventListFilters): Promise<EsiEventRow[]>;
	/**
	 * The same request, read as a stream: `visit` sees every row in ESI's order and keeps what
	 * it needs, so memory stays bounded however large the answer (ESI has no paging). `wants`
	 * is a hint asked with each row's id before the row is parsed: a row it refuses is neither
	 * parsed nor visited (it still counts, and its id for newestId), so a poll over a backlog
	 * parses only the rows it can use. A row whose id cannot be read early is visited anyway.
	 */
	scanEvents(
		filters: EventListFilters,
		visit: (row: ScannedEventRow) => void,
		wants?: (id: number) => boolean,
	): Promise<EventScanSummary>;

	createConsoleToken(input: ConsoleTokenCreateInput): Promise<ConsoleToken>;
	deleteConsoleToken(nodeUuidOrName: string): Promise<DeleteResult>;

	/** A UUID is returned as is; a name must match exactly one offer in `listOffers(filters)`. */
	resolveOfferUuid(uuidOrName: string, filters?: OfferListFilters): Promise<string>;
	/** A UUID is returned as is; a name must match exactly one lease in `listLeases(filters)`. */
	resolveLeaseUuid(uuidOrName: string, filters?: LeaseListFilters): Promise<string>;

	/**
	 * ESI's clock: the HTTP `Date` header (RFC 9110, whole seconds) of the latest answer that had
	 * one, as epoch milliseconds; undefined before that. The watch events measure lead times with
	 * it, so a skewed n8n clock does not move the warnings.
	 */
	serverTime(): number | undefined;
}

// oslo's is_uuid_like: 32 hex digits, dashes optional.
const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isUuidLike(value: string): boolean {
	return UUID_LIKE.test(value);
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_DELETE_TIMEOUT_MS = 120_000;

export function createEsiLeapClient(
	transport: Transport,
	options: EsiLeapClientOptions = {},
): EsiLeapClient {
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const deleteTimeoutMs = options.deleteTimeoutMs ?? DEFAULT_DELETE_TIMEOUT_MS;
	let serverTime: number | undefined;

	async function send(
		method: HttpMethod,
		path: string,
		extra: {
			query?: Record<string, string | undefined>;
			body?: unknown;
			responseType?: 'stream';
			/** The object asked for, so a not-found names it. */
			subject?: EsiLeapSubject;
		} = {},
	): Promise<HttpResponse> {
		const response = await transport({
			method,
			url: path,
			query: extra.query && dropUndefined(extra.query),
			// Every ESI POST/PATCH takes a JSON object: with no body ESI answers 400 `Missing
			// argument: "new_lease"` (edge-014, edge-023) or 500 on PATCH (edge-032); `{}` is
			// what "nothing to say" means to it (edge-016: a claim with all defaults, 201).
			body: method === 'POST' || method === 'PATCH' ? (extra.body ?? {}) : extra.body,
			headers: { Accept: 'application/json' },
			timeoutMs: method === 'DELETE' ? deleteTimeoutMs : timeoutMs,
			...(extra.responseType ? { responseType: extra.responseType } : {}),
		}).catch((cause: unknown) => networkError(method, path, cause));
		if (response instanceof Error) throw response;
		const date = Date.parse(response.headers?.date ?? '');
		if (Number.isFinite(date)) serverTime = date;
		if (response.status < 200 || response.status >= 300) {
			throw errorFromResponse(method, path, response, extra.subject);
		}
		return response;
	}

	async function call<T>(
		schema: ZodType<T, ZodTypeDef, unknown>,
		method: HttpMethod,
		path: string,
		extra?: {
			query?: Record<string, string | undefined>;
			body?: unknown;
			subject?: EsiLeapSubject;
		},
	): Promise<T> {
		const response = await send(method, path, extra);
		return validate(schema, response.body, method, path);
	}

	async function remove(path: string, subject: EsiLeapSubject): Promise<DeleteResult> {
		// The body is `null`; there is nothing else to read.
		await send('DELETE', path, { subject });
		return { deleted: true, id: subject.id };
	}

	async function resolveUniqueUuid<T extends { name: string | null; uuid: string }>(
		kind: 'offer' | 'lease',
		uuidOrName: string,
		list: () => Promise<T[]>,
	): Promise<string> {
		const value = requireText(uuidOrName, `${kind}Id`);
		if (isUuidLike(value)) return value;
		const matches = (await list()).filter((item) => item.name === value);
		if (matches.length === 1) return matches[0].uuid;
		if (matches.length === 0) {
			throw new EsiLeapError(
				'not_found',
				`No ${kind} named "${value}" is visible to this project`,
				{
					field: `${kind}Id`,
				},
			);
		}
		throw new EsiLeapError(
			'invalid_input',
			`${matches.length} ${kind}s are named "${value}" (${matches
				.map((item) => item.uuid)
				.join(', ')}): use the UUID`,
			{ field: `${kind}Id` },
		);
	}

	const client: EsiLeapClient = {
		serverTime: () => serverTime,

		root: async () => call(versionDocumentSchema, 'GET', '/'),

		listOffers: async (filters = {}) => {
			requirePair(filters, 'startTime', 'endTime');
			requirePair(filters, 'availableStartTime', 'availableEndTime');
			const query = {
				project_id: filters.projectId,
				resource_type: filters.resourceType,
				resource_uuid: filters.resourceUuid,
				resource_class: filters.resourceClass,
				start_time: optionalTime(filters.startTime, 'startTime'),
				end_time: optionalTime(filters.endTime, 'endTime'),
				available_start_time: optionalTime(filters.availableStartTime, 'availableStartTime'),
				available_end_time: optionalTime(filters.availableEndTime, 'availableEndTime'),
				status: filters.status,
			};
			return (await call(offerListSchema, 'GET', '/v1/offers', { query })).offers;
		},

		getOffer: async (uuidOrName) =>
			call(offerSchema, 'GET', itemPath('offers', uuidOrName, 'offerId'), {
				subject: { kind: 'Offer', id: uuidOrName },
			}),

		createOffer: async (input) => {
			const body = dropUndefined({
				resource_uuid: requireText(input.resourceUuid, 'resourceUuid'),
				resource_type: input.resourceType,
				name: input.name,
				lessee_id: input.lesseeId,
				start_time: optionalTime(input.startTime, 'startTime'),
				end_time: optionalTime(input.endTime, 'endTime'),
				properties: input.properties,
			});
			return call(offerSchema, 'POST', '/v1/offers', { body });
		},

		deleteOffer: async (uuidOrName) =>
			remove(itemPath('offers', uuidOrName, 'offerId'), { kind: 'Offer', id: uuidOrName }),

		claimOffer: async (offerUuid, input = {}) => {
			const uuid = requireText(offerUuid, 'offerId');
			if (!isUuidLike(uuid)) {
				throw new EsiLeapError(
					'invalid_input',
					`offerId: claiming needs the offer's UUID, got "${uuid}" (ESI Leap cannot claim by name)`,
					{ field: 'offerId' },
				);
			}
			const body = dropUndefined({
				name: input.name,
				start_time: optionalTime(input.startTime, 'startTime'),
				end_time: optionalTime(input.endTime, 'endTime'),
				properties: input.properties,
				purpose: input.purpose,
			});
			return call(leaseSchema, 'POST', `/v1/offers/${encodeURIComponent(uuid)}/claim`, {
				body,
				subject: { kind: 'Offer', id: uuid },
			});
		},

		listLeases: async (filters = {}) => {
			requirePair(filters, 'startTime', 'endTime');
			const query = {
				project_id: filters.projectId,
				owner_id: filters.ownerId,
				status: filters.status,
				start_time: optionalTime(filters.startTime, 'startTime'),
				end_time: optionalTime(filters.endTime, 'endTime'),
				offer_uuid: filters.offerUuid,
				view: filters.view,
				resource_type: filters.resourceType,
				resource_uuid: filters.resourceUuid,
				resource_class: filters.resourceClass,
			};
			return (await call(leaseListSchema, 'GET', '/v1/leases', { query })).leases;
		},

		getLease: async (uuidOrName) =>
			call(leaseSchema, 'GET', itemPath('leases', uuidOrName, 'leaseId'), {
				subject: { kind: 'Lease', id: uuidOrName },
			}),

		createLease: async (input) => {
			const body = dropUndefined({
				resource_uuid: requireText(input.resourceUuid, 'resourceUuid'),
				project_id: requireText(input.projectId, 'projectId'),
				resource_type: input.resourceType,
				name: input.name,
				start_time: optionalTime(input.startTime, 'startTime'),
				end_time: optionalTime(input.endTime, 'endTime'),
				properties: input.properties,
				purpose: input.purpose,
			});
			return call(leaseSchema, 'POST', '/v1/leases', { body });
		},

		updateLeaseEndTime: async (uuidOrName, endTime) => {
			// ESI accepts exactly this one key, in exactly %Y-%m-%dT%H:%M:%S.
			const body = { end_time: toEsiTime(endTime, 'endTime') };
			return call(leaseSchema, 'PATCH', itemPath('leases', uuidOrName, 'leaseId'), {
				body,
				subject: { kind: 'Lease', id: uuidOrName },
			});
		},

		deleteLease: async (uuidOrName) =>
			remove(itemPath('leases', uuidOrName, 'leaseId'), { kind: 'Lease', id: uuidOrName }),

		listNodes: async (filters = {}) => {
			const query = {
				resource_class: filters.resourceClass,
				owner: filters.owner,
				lessee: filters.lessee,
			};
			return (await call(nodeListSchema, 'GET', '/v1/nodes', { query })).nodes;
		},

		listEvents: async (filters = {}) => {
			const { events } = await call(eventListSchema, 'GET', '/v1/events', {
				query: eventQuery(filters),
			});
			return [...events].sort((a, b) => a.id - b.id);
		},

		scanEvents: async (filters, visit, wants) => {
			const path = '/v1/events';
			const response = await send('GET', path, {
				query: eventQuery(filters),
				responseType: 'stream',
			});
			let newestId: number | undefined;
			const seen = (id: number) => {
				if (newestId === undefined || id > newestId) newestId = id;
			};
			const onRow = (value: unknown, position: number) => {
				const row = scannedEventRow(value, position);
				seen(row.id);
				visit(row);
			};
			const peek = wants && {
				key: 'id',
				skip: (id: number) => {
					seen(id);
					return !wants(id);
				},
			};
			let count: number;
			if (isByteStream(response.body)) {
				count = await forEachJsonArrayElement(response.body, 'events', onRow, peek).catch(
					(cause: unknown) => {
						throw streamError(cause, 'GET', path);
					},
				);
			} else {
				// A transport that cannot stream hands over the parsed body: same checks, same visits.
				const body = response.body as { events?: unknown } | null;
				if (!body || typeof body !== 'object' || !Array.isArray(body.events)) {
					throw invalidResponse('GET', path, 'events', 'Required (an array)');
				}
				body.events.forEach(onRow);
				count = body.events.length;
			}
			return { count, newestId };
		},

		createConsoleToken: async (input) => {
			const ttl = input.tokenTtlSeconds;
			if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) {
				throw new EsiLeapError(
					'invalid_input',
					`tokenTtlSeconds: must be a whole number > 0, got ${String(ttl)}`,
					{ field: 'tokenTtlSeconds' },
				);
			}
			// ESI types this body as a string→string map.
			const body = dropUndefined({
				node_uuid_or_name: requireText(input.nodeUuidOrName, 'nodeUuidOrName'),
				token_ttl: ttl === undefined ? undefined : String(ttl),
			});
			return call(consoleTokenSchema, 'POST', '/v1/console_auth_tokens', {
				body,
				subject: { kind: 'Node', id: body.node_uuid_or_name as string },
			});
		},

		deleteConsoleToken: async (nodeUuidOrName) =>
			remove(itemPath('console_auth_tokens', nodeUuidOrName, 'nodeUuidOrName'), {
				kind: 'Node',
				id: nodeUuidOrName,
			}),

		resolveOfferUuid: async (uuidOrName, filters) =>
			resolveUniqueUuid('offer', uuidOrName, () => client.listOffers(filters)),

		resolveLeaseUuid: async (uuidOrName, filters) =>
			resolveUniqueUuid('lease', uuidOrName, () => client.listLeases(filters)),
	};
	return client;
}

function eventQuery(filters: EventListFilters): Record<string, string | undefined> {
	const { lastEventId } = filters;
	if (lastEventId !== undefined && (!Number.isInteger(lastEventId) || lastEventId < 0)) {
		throw new EsiLeapError(
			'invalid_input',
			`lastEventId: must be a whole number ≥ 0, got ${String(lastEventId)}`,
			{ field: 'lastEventId' },
		);
	}
	return {
		last_event_id: lastEventId === undefined ? undefined : String(lastEventId),
		last_event_time: optionalTime(filters.lastEventTime, 'lastEventTime'),
		lessee_or_owner_id: filters.lesseeOrOwnerId,
		event_type: filters.eventType,
		resource_type: filters.resourceType,
		resource_uuid: filters.resourceUuid,
	};
}

function scannedEventRow(value: unknown, position: number): ScannedEventRow {
	const field = `events[${position}]`;
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw invalidResponse('GET', '/v1/events', field, 'Expected object');
	}
	const id = (value as { id?: unknown }).id;
	if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
		throw invalidResponse('GET', '/v1/events', `${field}.id`, 'Expected integer');
	}
	return { id, position, value: value as Record<string, unknown> };
}

/** The full check of a scanned row (the event schema), naming the field as listEvents would. */
export function checkEventRow(row: ScannedEventRow): EsiEventRow {
	const parsed = eventSchema.safeParse(row.value);
	if (parsed.success) return parsed.data;
	const issue = parsed.error.issues[0];
	const field = `events[${row.position}]${issue.path.length ? `.${issuePath(issue.path)}` : ''}`;
	throw invalidResponse('GET', '/v1/events', field, issue.message, parsed.error);
}

function invalidResponse(
	method: HttpMethod,
	path: string,
	field: string,
	message: string,
	cause?: unknown,
): EsiLeapError {
	return new EsiLeapError(
		'invalid_response',
		`Unexpected ESI Leap response to ${method} ${path}: ${field}: ${message}`,
		{ field, cause },
	);
}

/** A failure while reading a streamed body: bad JSON is the answer's fault, the rest the link's. */
function streamError(cause: unknown, method: HttpMethod, path: string): EsiLeapError {
	if (isEsiLeapError(cause)) return cause;
	if (cause instanceof MalformedJsonError) {
		return invalidResponse(method, path, cause.field ?? '(body)', cause.reason, cause);
	}
	return new EsiLeapError(
		'network',
		`ESI Leap's answer to ${method} ${path} broke off: ${describeCause(cause)}`,
		{ cause },
	);
}

function itemPath(collection: string, id: string, field: string): string {
	return `/v1/${collection}/${encodeURIComponent(requireText(id, field))}`;
}

function requireText(value: string | undefined, field: string): string {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!text) throw new EsiLeapError('invalid_input', `${field} is required`, { field });
	return text;
}

function optionalTime(value: TimeInput | undefined, field: string): string | undefined {
	return value === undefined || value === '' ? undefined : toEsiTime(value, field);
}

// ESI answers a lone start or end with a 500 (InvalidTimeAPICommand); say it before sending.
function requirePair<T extends object>(
	filters: T,
	first: keyof T & string,
	second: keyof T & string,
) {
	const hasFirst = filters[first] !== undefined && filters[first] !== '';
	const hasSecond = filters[second] !== undefined && filters[second] !== '';
	if (hasFirst !== hasSecond) {
		const missing = hasFirst ? second : first;
		throw new EsiLeapError(
			'invalid_input',
			`${missing} is required when ${hasFirst ? first : second} is set (ESI Leap filters on both or neither)`,
			{ field: missing },
		);
	}
}

function dropUndefined<T extends Record<string, unknown>>(record: T): Partial<T> {
	const result: Partial<T> = {};
	for (const key of Object.keys(record) as Array<keyof T>) {
		if (record[key] !== undefined) result[key] = record[key];
	}
	return result;
}

function validate<T>(
	schema: ZodType<T, ZodTypeDef, unknown>,
	body: unknown,
	method: HttpMethod,
	path: string,
): T {
	const parsed = schema.safeParse(body);
	if (parsed.success) return parsed.data;
	const issue = parsed.error.issues[0];
	const field = issuePath(issue.path) || '(body)';
	throw new EsiLeapError(
		'invalid_response',
		`Unexpected ESI Leap response to ${method} ${path}: ${field}: ${issue.message}`,
		{ field, cause: parsed.error },
	);
}

// ESI raises most business errors as 500 (spec §2.3); sort them by their message.
// An unknown UUID is looked up as a UUID and the miss dereferences None (edge-194, 198, 202,
// 206); Ironic's 404 for a node comes back wrapped in a 500 (edge-208, 210).
const UNKNOWN_UUID_500 = /'NoneType' object has no attribute '\w+'/;
const NOT_FOUND_500 = [UNKNOWN_UUID_500, /\(HTTP 404\)/];
const FORBIDDEN_500 = [/\(HTTP 403\)/];
const CONFLICT_500 = [/Time conflict/i, /Duplicate .* with name/i, /has no availabilities/i];
const BAD_REQUEST_500 = [
	/invalid (Start Time|time range)/i,
	/must be given together|InvalidTime/i,
	/Only the end_time field may be updated/i,
	/No project named/i,
	/resource type unknown/i,
	/unconverted data remains|does not match format|argument 1 must be str/i,
	/can't compare offset-naive and offset-aware/i,
];

function kindForStatus(status: number, message: string | undefined): EsiLeapErrorKind {
	if (status === 401) return 'unauthorized';
	if (status === 403) return 'forbidden';
	if (status === 404) return 'not_found';
	if (status === 409) return 'conflict';
	if (status === 500 && message !== undefined) {
		if (NOT_FOUND_500.some((pattern) => pattern.test(message))) return 'not_found';
		if (FORBIDDEN_500.some((pattern) => pattern.test(message))) return 'forbidden';
		if (CONFLICT_500.some((pattern) => pattern.test(message))) return 'conflict';
		if (BAD_REQUEST_500.some((pattern) => pattern.test(message))) return 'bad_request';
	}
	return status >= 500 ? 'server' : 'bad_request';
}

const REASONS: Record<number, string> = {
	400: 'Bad request',
	401: 'Authentication required or token expired',
	403: 'Forbidden',
	404: 'Not found',
	405: 'Method not allowed',
	415: 'Unsupported media type',
	500: 'Internal server error',
	502: 'Bad gateway',
	503: 'Service unavailable',
	504: 'Gateway timeout',
};

/**
 * Turns a non-2xx ESI Leap response into an EsiLeapError carrying ESI's own message. ESI's 500
 * for an unknown UUID says nothing a user can read, so then `summary` says what happened,
 * naming the object; a real 404 (`Lease with name or uuid X not found.`) already does.
 */
export function errorFromResponse(
	method: HttpMethod,
	path: string,
	response: HttpResponse,
	subject?: EsiLeapSubject,
) {
	const esiMessage = parseErrorMessage(response.body);
	const kind = kindForStatus(response.status, esiMessage);
	const reason = esiMessage ?? REASONS[response.status] ?? `HTTP ${response.status}`;
	const unknownUuidAsServerError =
		response.status === 500 && esiMessage !== undefined && UNKNOWN_UUID_500.test(esiMessage);
	return new EsiLeapError(kind, `${reason} (ESI Leap ${response.status} on ${method} ${path})`, {
		status: response.status,
		esiMessage,
		subject,
		unknownUuidAsServerError,
		...(unknownUuidAsServerError && subject ? { summary: notFoundSummary(subject) } : {}),
		// Only genuine server trouble is worth retrying; ESI's business 500s never heal.
		retryable: kind === 'server',
	});
}

/** `Lease ee673b7a… not found, or not visible to this project` (a name is given in full). */
export function notFoundSummary(subject: EsiLeapSubject): string {
	const id = isUuidLike(subject.id) ? `${subject.id.slice(0, 8)}…` : subject.id;
	return `${subject.kind} ${id} not found, or not visible to this project`;
}

function networkError(method: HttpMethod, path: string, cause: unknown): EsiLeapError {
	if (isEsiLeapError(cause)) return cause;
	if (isTimeout(cause)) {
		// The real API can leave a request unanswered for good (edge-086, edge README finding 32).
		const unknownOutcome =
			method === 'POST' || method === 'PATCH' || method === 'DELETE'
				? ` It may still have taken effect (a timed-out POST may have created its object): look before retrying.`
				: '';
		return new EsiLeapError(
			'network',
			`ESI Leap did not answer ${method} ${path} before the request timeout.${unknownOutcome}`,
			{ cause },
		);
	}
	return new EsiLeapError(
		'network',
		`No response from ESI Leap for ${method} ${path}: ${describeCause(cause)}`,
		{ cause },
	);
}

function describeCause(cause: unknown): string {
	if (cause instanceof Error) {
		const code = (cause as { code?: unknown }).code;
		return typeof code === 'string' ? `${cause.message} (${code})` : cause.message;
	}
	return String(cause);
}
