/**
 * ESI Leap REST API v1 (pecan + WSME behaviour): routing, keystonemiddleware auth, policy,
 * filters and defaults, and the real error bodies and status codes (spec §2, §3, §5).
 */
import { randomUUID } from 'node:crypto';
import {
	addSeconds,
	DATETIME_MAX,
	now,
	parseLenient,
	parseStrict,
	pythonStr,
	restFormat,
	secondsBetween,
	type NaiveTime,
} from './clock';
import { LEASE_CAN_DELETE, type Engine } from './engine';
import { fault, htmlError, HttpFault, json, raise, type Reply } from './http';
import { middlewareUnauthorized, type Token } from './keystone';
import {
	projectName,
	type Database,
	type EventRow,
	type Lease,
	type Offer,
	type ResourceType,
} from './model';
import type { RequestContext } from './notifier';
import { pyDumps, pyRepr, pyString } from './pyjson';
import {
	checkResourceType,
	describeResource,
	findIronicNode,
	resolveResourceUuid,
} from './resources';

export interface ApiConfig {
	defaultResourceType: ResourceType;
	keystoneRoot: string;
}

export interface ApiRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: Record<string, string | string[] | undefined>;
	rawBody: string;
	token: Token | undefined;
}

interface Caller {
	token: Token;
	projectId: string;
	roles: string[];
	isAdmin: boolean;
	isOwner: boolean;
	isLessee: boolean;
	context: RequestContext;
}

const DEFAULT_LEASE_DAYS = 7;
const MAX_LEASE_DAYS = 21;
const DAY = 86_400;

function callerFrom(token: Token, requestId: string): Caller {
	const roles = token.project ? token.user.roles : [];
	const has = (...names: string[]) => roles.some((role) => names.includes(role));
	const projectId = token.project?.id ?? '';
	return {
		token,
		projectId,
		roles,
		isAdmin: has('admin', 'esi_leap_admin'),
		isOwner: has('owner', 'esi_leap_owner'),
		isLessee: has('lessee', 'esi_leap_lessee'),
		context: {
			user: token.user.id,
			projectId: projectId || null,
			userDomain: 'default',
			projectDomain: token.project ? 'default' : null,
			roles: [...roles],
			requestId,
		},
	};
}

function denyRule(rule: string): never {
	raise(403, `Access was denied to ${rule}.`);
}

/** Rules any of ESI's three roles may pass (admin, owner or lessee). */
function requireAnyRole(caller: Caller, rule: string): void {
	if (!caller.isAdmin && !caller.isOwner && !caller.isLessee) denyRule(rule);
}

function isUuidLike(value: string): boolean {
	return /^[0-9a-f]{32}$/i.test(value.replace(/-/g, ''));
}

// ---------------------------------------------------------------------------------------------
// WSME argument and body validation

function checkArguments(
	query: URLSearchParams,
	allowed: string[],
): Record<string, string | undefined> {
	const values: Record<string, string | undefined> = {};
	for (const [key, value] of query) {
		if (!allowed.includes(key)) raise(400, `Unknown argument: "${key}"`);
		values[key] = value;
	}
	return values;
}

/**
 * A datetime query argument (edge README finding 9): empty counts as absent (edge-264, 315);
 * offsets are ignored (edge-260, 309); a trailing ` HH:MM` (a raw `+` decoded to a space)
 * replaces the time of day, as dateutil does with a second time token (edge-261, 310).
 */
function queryTime(name: string, value: string | undefined): NaiveTime | undefined {
	if (value === undefined || value === '') return undefined;
	const trailingTime = /^(.*\S)\s+(\d{2}):(\d{2})$/.exec(value);
	const base = trailingTime ? parseDateutil(trailingTime[1]) : undefined;
	if (trailingTime && base && 'time' in base) {
		return `${base.time.slice(0, 11)}${trailingTime[2]}:${trailingTime[3]}:00.000000`;
	}
	const parsed = parseDateutil(value);
	if ('reason' in parsed) {
		raise(
			400,
			`Invalid input for field/attribute ${name}. Value: '${value}'. unable to convert to datetime. Error: ${parsed.reason.replace('%s', value)}`,
		);
	}
	return parsed.time;
}

/** A query's pair of times, e.g. start_time and end_time, each parsed (400 when unreadable). */
function queryPeriod(
	args: Record<string, string | undefined>,
	startName: string,
	endName: string,
): { start?: NaiveTime; end?: NaiveTime } {
	return { start: queryTime(startName, args[startName]), end: queryTime(endName, args[endName]) };
}

/** ESI answers 500 with `message` unless both times or neither are given, start before end. */
/**
 * ESI answers 500 unless both times or neither are given, start before end (edge-252..254,
 * 283, 284): `what` names the resource and `label` the pair ("Start Time", "Availability
 * Start Time"), and the message ends with both values as Python prints them.
 */
function requireWholePeriod(
	period: { start?: NaiveTime; end?: NaiveTime },
	what: string,
	label = '',
) {
	const { start, end } = period;
	if ((start === undefined) !== (end === undefined) || (start && end && start >= end)) {
		const show = (time: NaiveTime | undefined) => (time === undefined ? 'None' : pythonStr(time));
		raise(
			500,
			`Attempted to get ${what} resource without providing both a valid ${label}Start Time and ${label}End Time. ` +
				`${label}Start Time must be strictly less than ${label}End Time. Got ${show(start)}, ${show(end)}.`,
		);
	}
}

/** The status query of list calls: 'default' means `defaults`, 'any' every status. */
function statusMatches(query: string, defaults: readonly string[], status: string): boolean {
	return query === 'default' ? defaults.includes(status) : query === 'any' || status === query;
}

/** The resource_type, resource_uuid and resource_class filters offer and lease lists share. */
function resourceMatches(
	db: Database,
	filter: { type?: string; uuid?: string },
	resourceClass: string | undefined,
	item: { resourceType: ResourceType; resourceUuid: string },
): boolean {
	if (filter.type !== undefined && item.resourceType !== filter.type) return false;
	if (filter.uuid !== undefined && item.resourceUuid !== filter.uuid) return false;
	return (
		resourceClass === undefined ||
		describeResource(db, item.resourceType, item.resourceUuid).resourceClass === resourceClass
	);
}

interface AttributeSpec {
	name: string;
	readOnly?: boolean;
	datetime?: boolean;
	mandatory?: boolean;
	/** WSME's type of the attribute: text (edge-369) or a dict (edge-368). */
	type?: 'text' | 'dict';
}

const LEASE_ATTRIBUTES: AttributeSpec[] = [
	{ name: 'name', type: 'text' },
	{ name: 'uuid', readOnly: true },
	{ name: 'project_id', type: 'text' },
	{ name: 'project', readOnly: true },
	{ name: 'owner_id', readOnly: true },
	{ name: 'owner', readOnly: true },
	{ name: 'resource_type', type: 'text' },
	{ name: 'resource_uuid', type: 'text' },
	{ name: 'resource_class', type: 'text' },
	{ name: 'resource_properties', type: 'dict' },
	{ name: 'resource', readOnly: true },
	{ name: 'start_time', datetime: true },
	{ name: 'fulfill_time', readOnly: true },
	{ name: 'expire_time', readOnly: true },
	{ name: 'end_time', datetime: true },
	{ name: 'status', readOnly: true },
	{ name: 'properties', type: 'dict' },
	{ name: 'purpose', type: 'text' },
	{ name: 'offer_uuid', readOnly: true },
	{ name: 'parent_lease_uuid', readOnly: true },
];

const OFFER_ATTRIBUTES: AttributeSpec[] = [
	{ name: 'name', type: 'text' },
	{ name: 'uuid', readOnly: true },
	{ name: 'project_id', readOnly: true },
	{ name: 'project', readOnly: true },
	{ name: 'lessee_id', type: 'text' },
	{ name: 'lessee', readOnly: true },
	{ name: 'resource_type', type: 'text' },
	{ name: 'resource_uuid', mandatory: true, type: 'text' },
	{ name: 'resource', readOnly: true },
	{ name: 'resource_class', type: 'text' },
	{ name: 'resource_properties', type: 'dict' },
	{ name: 'start_time', datetime: true },
	{ name: 'end_time', datetime: true },
	{ name: 'status', readOnly: true },
	{ name: 'properties', type: 'dict' },
	{ name: 'availabilities', readOnly: true },
	{ name: 'parent_lease_uuid', readOnly: true },
];

/** A datetime from a body: `null` when the client sent null; `aware` when it had an offset. */
interface BodyTime {
	time: NaiveTime | null;
	aware: boolean;
}

interface ParsedBody {
	raw: Record<string, unknown>;
	times: { start?: BodyTime; end?: BodyTime };
}

const MAX_C_INT = 2_147_483_647;

/**
 * dateutil.parser.parse as ESI's WSME datetime type and query arguments use it (edge README
 * findings 6, 7, 9). `reason` keeps Python's `%s` placeholder: WSME prints it verbatim in body
 * errors (edge-124, 127) and the value in query errors (edge-256, 257). `overflow` is an
 * OverflowError (500 in a body, edge-123; 400 in a query, edge-263).
 */
function parseDateutil(
	text: string,
): { time: NaiveTime; aware: boolean } | { reason: string; overflow?: boolean } {
	const value = text.trim();
	if (value === '') return { reason: 'String does not contain a date: %s' };
	if (/^\d+$/.test(value)) {
		const number = Number(value);
		if (number > MAX_C_INT)
			return { reason: 'signed integer is greater than maximum', overflow: true };
		return { reason: `year ${number} is out of range: %s` };
	}
	const iso =
		/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
			value,
		);
	if (iso) {
		const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone] = iso;
		if (Number(mo) < 1 || Number(mo) > 12) return { reason: 'month must be in 1..12: %s' };
		const time = parseLenient(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac ? `.${frac}` : ''}`);
		if (!time) return { reason: 'day is out of range for month: %s' };
		// The offset is parsed and then dropped, never applied (edge-146, 150, 160).
		return { time, aware: zone !== undefined };
	}
	// `Jul 27 2044` (edge-126, 141).
	const english = /^([A-Za-z]{3})[a-z]* (\d{1,2}),? (\d{4})$/.exec(value);
	const month = english
		? ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].indexOf(
				english[1].toLowerCase(),
			)
		: -1;
	if (english && month >= 0) {
		const time = parseLenient(`${english[3]}-${pad2(month + 1)}-${pad2(Number(english[2]))}`);
		if (time) return { time, aware: false };
	}
	return { reason: 'Unknown string format: %s' };
}

function pad2(value: number): string {
	return String(value).padStart(2, '0');
}

/** Python's `type(value)` as WSME prints it in "Wrong type" errors (edge-369). */
function pyClass(value: unknown): string {
	const name = pyTypeName(value);
	return `<class '${name === 'NoneType' ? 'NoneType' : name}'>`;
}

/** What WSME hands the controller for a body argument: absent, or the decoded JSON value. */
type BodyArgument = { present: false } | { present: true; value: unknown };

// WSME's JSON content types (wsme/rest/json.py accept_content_types); webob reads a request
// without Content-Type as text/plain (capture edge-013).
const JSON_MIMETYPES = ['application/json', 'text/javascript'];

/**
 * The body as wsme/rest/args.py args_from_body reads it: an empty body is no argument at all
 * (edge-005, edge-006: no body, or Content-Length 0, same answer); form bodies become query-like
 * arguments (edge-351); other mimetypes are 415 (edge-012, edge-013, edge-352), bad JSON 400
 * (edge-011). `application/json; charset=utf-8` and `text/javascript` are JSON (edge-349, 350).
 */
function readBodyArgument(request: ApiRequest): BodyArgument {
	if (request.rawBody === '') return { present: false };
	const mimetype =
		String(request.headers['content-type'] ?? '')
			.split(';')[0]
			.trim() || 'text/plain';
	if (mimetype === 'application/x-www-form-urlencoded') {
		const names = [...new URLSearchParams(request.rawBody).keys()];
		raise(400, `Unknown argument: "${names.join(', ')}"`);
	}
	if (!JSON_MIMETYPES.includes(mimetype)) raise(415, `Unknown mimetype: ${mimetype}`);
	try {
		return { present: true, value: JSON.parse(request.rawBody) };
	} catch {
		return raise(400, 'Request is not in valid JSON format');
	}
}

/** Python's `str()` of a decoded JSON value. */
function pyStr(value: unknown): string {
	return typeof value === 'string' ? value : pyRepr(value);
}

/** Python's type name of a decoded JSON value, as in `'list' object has no attribute`. */
function pyTypeName(value: unknown): string {
	if (value === null) return 'NoneType';
	if (Array.isArray(value)) return 'list';
	if (typeof value === 'string') return 'str';
	if (typeof value === 'boolean') return 'bool';
	if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
	return 'dict';
}

/**
 * A mandatory `{str: str}` body (console tokens): absent is 400 Missing argument (edge-041,
 * 042), a non-dict 400 "Value not a valid dict" (edge-045, 046); `null` passes WSME as None.
 */
function dictBody(request: ApiRequest, argument: string, mandatory: boolean): unknown {
	const body = readBodyArgument(request);
	if (!body.present) {
		if (mandatory) raise(400, `Missing argument: "${argument}"`);
		return null;
	}
	const { value } = body;
	if (value !== null && pyTypeName(value) !== 'dict') {
		raise(
			400,
			`Invalid input for field/attribute ${argument}. Value: '${pyRepr(value)}'. Value not a valid dict: ${pyRepr(value)}`,
		);
	}
	return value;
}

function validateBody(
	request: ApiRequest,
	argument: string,
	attributes: AttributeSpec[],
): ParsedBody {
	const body = readBodyArgument(request);
	// edge-014, edge-023: a WSME complex-type argument is mandatory.
	if (!body.present) raise(400, `Missing argument: "${argument}"`);
	// edge-008, edge-017, edge-026: None reaches the controller's `.to_dict()`.
	if (body.value === null) raise(500, "'NoneType' object has no attribute 'to_dict'");
	// edge-009, edge-010, edge-018: wsme/rest/json.py fromjson calls `.keys()` on it.
	if (pyTypeName(body.value) !== 'dict')
		raise(500, `'${pyTypeName(body.value)}' object has no attribute 'keys'`);
	const raw = body.value as Record<string, unknown>;
	const times: ParsedBody['times'] = {};
	for (const attribute of attributes) {
		const value = raw[attribute.name];
		if (!(attribute.name in raw)) {
			if (attribute.mandatory) {
				raise(
					400,
					`Invalid input for field/attribute ${attribute.name}. Value: 'None'. Mandatory field missing.`,
				);
			}
			continue;
		}
		if (attribute.readOnly) {
			raise(
				400,
				`Invalid input for field/attribute ${attribute.name}. Value: '${String(value)}'. Cannot set read only field.`,
			);
		}
		if (attribute.type === 'text' && value !== null && typeof value !== 'string') {
			raise(
				400,
				`Invalid input for field/attribute ${attribute.name}. Value: '${pyStr(value)}'. Wrong type. Expected '<class 'str'>', got '${pyClass(value)}'`,
			);
		}
		if (attribute.type === 'dict' && value !== null && pyTypeName(value) !== 'dict') {
			raise(
				400,
				`Invalid input for field/attribute ${argument}. Value: '${pyRepr(raw)}'. Value not a valid dict: ${pyRepr(value)}`,
			);
		}
		if (attribute.datetime) {
			let parsed: BodyTime;
			if (value === null) parsed = { time: null, aware: false };
			else if (typeof value !== 'string') {
				// dateutil refuses a number outright (edge-122, 137, 153).
				raise(500, `Parser must be a string or character stream, not ${pyTypeName(value)}`);
			} else {
				const result = parseDateutil(value);
				if ('reason' in result) {
					if (result.overflow) raise(500, result.reason);
					raise(
						400,
						`Invalid input for field/attribute ${argument}. Value: '${pyRepr(raw)}'. ${result.reason}`,
					);
				}
				parsed = result;
			}
			if (attribute.name === 'start_time') times.start = parsed;
			else times.end = parsed;
		}
	}
	const unknown = Object.keys(raw).filter(
		(key) => !attributes.some((attribute) => attribute.name === key),
	);
	if (unknown.length > 0)
		raise(400, `Unknown attribute for argument ${argument}: ${unknown.join(', ')}`);
	return { raw, times };
}

function optionalString(value: unknown): string | null {
	return value === undefined || value === null ? null : String(value);
}

function objectValue(value: unknown): Record<string, unknown> {
	return value && typeof value === 'object' && !Array.isArray(value)
		? (value as Record<string, unknown>)
		: {};
}

// ---------------------------------------------------------------------------------------------
// Serialization, in the captures' key order

function offerAvailabilities(db: Database, offer: Offer, at: NaiveTime): Array<[string, string]> {
	if (offer.status !== 'available') return [];
	const start = offer.startTime > at ? offer.startTime : at;
	const end = offer.endTime;
	const conflicts = db.leases
		.filter(
			(lease) =>
				lease.offerUuid === offer.uuid &&
				(lease.status === 'created' || lease.status === 'active') &&
				lease.endTime >= start,
		)
		.sort((a, b) => (a.startTime < b.startTime ? -1 : 1));
	const windows: Array<[NaiveTime, NaiveTime]> = [];
	let cursor = start;
	for (const lease of conflicts) {
		if (lease.startTime > cursor) windows.push([cursor, lease.startTime]);
		if (lease.endTime > cursor) cursor = lease.endTime;
	}
	if (cursor < end) windows.push([cursor, end]);
	return windows.map(([from, to]) => [restFormat(from), restFormat(to)]);
}

function offerView(db: Database, offer: Offer, at: NaiveTime = now()) {
	const resource = describeResource(db, offer.resourceType, offer.resourceUuid);
	return {
		name: offer.name,
		uuid: offer.uuid,
		project_id: offer.projectId,
		project: projectName(db, offer.projectId),
		lessee_id: offer.lesseeId,
		lessee: projectName(db, offer.lesseeId),
		resource_type: offer.resourceType,
		resource_uuid: offer.resourceUuid,
		resource: resource.name,
		resource_class: resource.resourceClass,
		resource_properties: resource.properties,
		start_time: restFormat(offer.startTime),
		end_time: restFormat(offer.endTime),
		status: offer.status,
		properties: offer.properties,
		availabilities: offerAvailabilities(db, offer, at),
		parent_lease_uuid: offer.parentLeaseUuid,
	};
}

function leaseView(db: Database, lease: Lease) {
	const resource = describeResource(db, lease.resourceType, lease.resourceUuid);
	const time = (value: NaiveTime | null) => (value === null ? null : restFormat(value));
	return {
		name: lease.name,
		uuid: lease.uuid,
		project_id: lease.projectId,
		project: projectName(db, lease.projectId),
		owner_id: lease.ownerId,
		owner: projectName(db, lease.ownerId),
		resource_type: lease.resourceType,
		resource_uuid: lease.resourceUuid,
		resource_class: resource.resourceClass,
		resource_properties: resource.properties,
		resource: resource.name,
		start_time: restFormat(lease.startTime),
		fulfill_time: time(lease.fulfillTime),
		expire_time: time(lease.expireTime),
		end_time: restFormat(lease.endTime),
		status: lease.status,
		properties: lease.properties,
		purpose: lease.purpose,
		offer_uuid: lease.offerUuid,
		parent_lease_uuid: lease.parentLeaseUuid,
	};
}

const nullable = (value: string | null) => (value === null ? 'null' : pyString(value));

/** Hand-rolled for speed: event lists can hold 100 000 rows. */
function eventJson(event: EventRow): string {
	return (
		`{"id": ${event.id}, "event_type": ${pyString(event.eventType)}, ` +
		`"event_time": ${pyString(restFormat(event.eventTime))}, "object_type": ${nullable(event.objectType)}, ` +
		`"object_uuid": ${nullable(event.objectUuid)}, "resource_type": ${nullable(event.resourceType)}, ` +
		`"resource_uuid": ${nullable(event.resourceUuid)}, "lessee_id": ${nullable(event.lesseeId)}, ` +
		`"owner_id": ${nullable(event.ownerId)}}`
	);
}

// ---------------------------------------------------------------------------------------------
// Lookups (UUID or name, with ESI's 404/500 behaviour)

/** A project query argument resolved like resolveProject; undefined when not given. */
function optionalProject(db: Database, ident: string | undefined): string | undefined {
	return ident === undefined ? undefined : resolveProject(db, ident);
}

function resolveProject(db: Database, ident: string): string {
	if (isUuidLike(ident)) return ident;
	const project = db.projects.find((candidate) => candidate.name === ident);
	if (!project) raise(500, `No project named ${ident}.`);
	return project.id;
}

function lookup<T extends { uuid: string; name: string | null; status: string }>(
	items: T[],
	ident: string,
	kind: 'Lease' | 'Offer',
	statuses: string[] | undefined,
	noneAttribute: string,
): T {
	const allowed = (item: T) => !statuses || statuses.includes(item.status);
	if (isUuidLike(ident)) {
		const found = items.find((item) => item.uuid === ident);
		if (!found) raise(500, `'NoneType' object has no attribute '${noneAttribute}'`);
		if (!allowed(found)) raise(404, `${kind} with name or uuid ${ident} not found.`);
		return found;
	}
	const matches = items.filter((item) => item.name === ident && allowed(item));
	if (matches.length === 0) raise(404, `${kind} with name or uuid ${ident} not found.`);
	if (matches.length > 1) raise(500, `Duplicate ${kind.toLowerCase()}s with name ${ident}.`);
	return matches[0];
}

function overlaps(aStart: NaiveTime, aEnd: NaiveTime, bStart: NaiveTime, bEnd: NaiveTime): boolean {
	return aStart < bEnd && bStart < aEnd;
}

function checkTimeConflict(
	db: Database,
	type: ResourceType,
	uuid: string,
	start: NaiveTime,
	end: NaiveTime,
): void {
	const offerConflict = db.offers.some(
		(offer) =>
			offer.resourceType === type &&
			offer.resourceUuid === uuid &&
			offer.status === 'available' &&
			overlaps(offer.startTime, offer.endTime, start, end),
	);
	const leaseConflict = db.leases.some(
		(lease) =>
			lease.resourceType === type &&
			lease.resourceUuid === uuid &&
			(lease.status === 'created' || lease.status === 'active') &&
			overlaps(lease.startTime, lease.endTime, start, end),
	);
	if (offerConflict || leaseConflict) raise(500, `Time conflict for ${type} ${uuid}.`);
}

const pyTypeOfTime = (time: NaiveTime | null) => (time === null ? 'NoneType' : 'datetime.datetime');

/**
 * A lease's or claim's start (default now) and, when given, its end, with ESI's max-length
 * check (esi_leap/common/utils.py check_lease_length: `end - start`, non-admins only, before
 * any other time check: edge-052). That subtraction is where explicit nulls (edge-125, 140) and
 * a naive/aware mix (edge-114, 159) fail. Without an end, an aware start meets the naive
 * defaults in a comparison (edge README finding 7).
 */
function leaseStart(
	caller: Caller,
	times: ParsedBody['times'],
): { start: NaiveTime; given?: NaiveTime } {
	const start = times.start ?? { time: now(), aware: false };
	const end = times.end;
	if (end === undefined) {
		if (start.time === null)
			raise(500, "unsupported operand type(s) for +: 'NoneType' and 'datetime.timedelta'");
		if (start.aware) raise(500, "can't compare offset-naive and offset-aware datetimes");
		return { start: start.time };
	}
	if (start.time === null || end.time === null) {
		raise(
			500,
			`unsupported operand type(s) for -: '${pyTypeOfTime(end.time)}' and '${pyTypeOfTime(start.time)}'`,
		);
	}
	if (start.aware !== end.aware)
		raise(500, "can't subtract offset-naive and offset-aware datetimes");
	checkMaxLeaseTime(caller, start.time, end.time);
	return { start: start.time, given: end.time };
}

/**
 * An offer's period: start default now, end default datetime.max, then `start >= end`
 * (esi_leap/api/controllers/v1/offer.py), which is where nulls (edge-155) and a naive/aware mix
 * (edge-149) fail; the message says "an offer resource" (edge-157).
 */
function offerPeriod(times: ParsedBody['times']): { start: NaiveTime; end: NaiveTime } {
	const start = times.start ?? { time: now(), aware: false };
	const end = times.end ?? { time: DATETIME_MAX, aware: false };
	if (start.time === null || end.time === null) {
		raise(
			500,
			`'>=' not supported between instances of '${pyTypeOfTime(start.time)}' and '${pyTypeOfTime(end.time)}'`,
		);
	}
	if (start.aware !== end.aware)
		raise(500, "can't compare offset-naive and offset-aware datetimes");
	if (start.time >= end.time) {
		raise(
			500,
			'Attempted to create an offer resource with an invalid Start Time and End Time. ' +
				`Start Time must be strictly less than End Time. Got ${pythonStr(start.time)}, ${pythonStr(end.time)}.`,
		);
	}
	return { start: start.time, end: end.time };
}

/**
 * resource_uuid as ESI resolves it: Ironic looks up names only; a UUID-like value is taken as
 * is and then fails the ownership check (edge-085: 403, not Ironic's 404).
 */
function resourceUuidOf(db: Database, type: ResourceType, ident: string): string {
	if (type === 'ironic_node' && isUuidLike(ident)) return ident;
	return resolveResourceUuid(db, type, ident);
}

function checkTimeRange(start: NaiveTime, end: NaiveTime): void {
	if (start >= end) {
		raise(
			500,
			'Attempted to create lease resource with an invalid Start Time and End Time. ' +
				`Start Time must be strictly less than End Time. Got ${pythonStr(start)}, ${pythonStr(end)}.`,
		);
	}
}

function checkMaxLeaseTime(caller: Caller, start: NaiveTime, end: NaiveTime): void {
	if (!caller.isAdmin && secondsBetween(start, end) > MAX_LEASE_DAYS * DAY) {
		raise(
			403,
			`Attempted to create lease with an invalid time range. The max time range is ${MAX_LEASE_DAYS} days.`,
		);
	}
}

function checkResourceOwnership(
	db: Database,
	caller: Caller,
	type: ResourceType,
	uuid: string,
): void {
	if (caller.isAdmin) return;
	if (describeResource(db, type, uuid).ownerProjectId !== caller.projectId) {
		raise(403, `Access was denied to ${type} ${uuid}.`);
	}
}

function offerVisibleTo(offer: Offer, caller: Caller): boolean {
	return (
		caller.isAdmin ||
		offer.projectId === caller.projectId ||
		!offer.lesseeId ||
		offer.lesseeId === caller.projectId
	);
}

function defaultResourceFilter(
	db: Database,
	config: ApiConfig,
	type: string | undefined,
	uuid: string | undefined,
): { type?: string; uuid?: string } {
	if (uuid === undefined) return { type };
	const resolvedType = checkResourceType(type ?? config.defaultResourceType);
	return {
		type: resolvedType,
		uuid: resolveResourceUuid(db, resolvedType, uuid),
	};
}

// ---------------------------------------------------------------------------------------------
// Handlers

function listOffers(
	db: Database,
	config: ApiConfig,
	caller: Caller,
	query: URLSearchParams,
): Reply {
	requireAnyRole(caller, 'esi_leap:offer:get_all');
	const args = checkArguments(query, [
		'project_id',
		'resource_type',
		'resource_uuid',
		'resource_class',
		'start_time',
		'end_time',
		'available_start_time',
		'available_end_time',
		'status',
	]);
	const period = queryPeriod(args, 'start_time', 'end_time');
	const available = queryPeriod(args, 'available_start_time', 'available_end_time');
	requireWholePeriod(period, 'an offer');
	requireWholePeriod(available, 'an offer', 'Availability ');
	const { start, end } = period;
	const { start: availableStart, end: availableEnd } = available;
	const projectId = optionalProject(db, args.project_id);
	const resource = defaultResourceFilter(db, config, args.resource_type, args.resource_uuid);
	const status = args.status ?? 'default';
	const at = now();
	const offers = db.offers.filter((offer) => {
		if (!offerVisibleTo(offer, caller)) return false;
		if (!statusMatches(status, ['available', 'error'], offer.status)) return false;
		if (projectId !== undefined && offer.projectId !== projectId) return false;
		if (start && end && !(offer.startTime <= start && offer.endTime >= end)) return false;
		if (availableStart && availableEnd) {
			if (!(offer.startTime <= availableStart && offer.endTime >= availableEnd)) return false;
			const busy = db.leases.some(
				(lease) =>
					lease.offerUuid === offer.uuid &&
					(lease.status === 'created' || lease.status === 'active') &&
					overlaps(lease.startTime, lease.endTime, availableStart, availableEnd),
			);
			if (busy) return false;
		}
		return resourceMatches(db, resource, args.resource_class, offer);
	});
	return json(200, { offers: offers.map((offer) => offerView(db, offer, at)) });
}

function showOffer(db: Database, caller: Caller, ident: string): Reply {
	requireAnyRole(caller, 'esi_leap:offer:get');
	const offer = lookup(db.offers, ident, 'Offer', undefined, 'project_id');
	if (!offerVisibleTo(offer, caller)) raise(403, `Access was denied to offer ${offer.uuid}.`);
	requireKnownProject(db, offer.lesseeId);
	return json(200, offerView(db, offer));
}

function createOffer(db: Database, config: ApiConfig, caller: Caller, request: ApiRequest): Reply {
	if (!caller.isAdmin && !caller.isOwner) denyRule('esi_leap:offer:create');
	const { raw, times } = validateBody(request, 'new_offer', OFFER_ATTRIBUTES);
	// No resource_type means [api] default_resource_type (edge-362), as for leases.
	const type = checkResourceType(optionalString(raw.resource_type) ?? config.defaultResourceType);
	const uuid = resourceUuidOf(db, type, String(raw.resource_uuid));
	// The lessee is resolved before any time check (edge-364).
	const lesseeName = optionalString(raw.lessee_id);
	const lesseeId = lesseeName === null ? null : resolveProject(db, lesseeName);
	const { start, end } = offerPeriod(times);
	checkResourceOwnership(db, caller, type, uuid);
	checkTimeConflict(db, type, uuid, start, end);
	const offer: Offer = {
		id: db.nextOfferId++,
		uuid: randomUUID(),
		name: optionalString(raw.name),
		projectId: caller.projectId,
		lesseeId,
		resourceType: type,
		resourceUuid: uuid,
		startTime: start,
		endTime: end,
		status: 'available',
		properties: objectValue(raw.properties),
		parentLeaseUuid: null,
	};
	db.offers.push(offer);
	requireKnownProject(db, offer.lesseeId);
	return json(201, offerView(db, offer));
}

function deleteOffer(db: Database, engine: Engine, caller: Caller, ident: string): Reply {
	// edge-204: the delete path dereferences `.status` first.
	const offer = lookup(db.offers, ident, 'Offer', ['available', 'error'], 'status');
	if (!caller.isAdmin && offer.projectId !== caller.projectId)
		raise(403, `Access was denied to offer ${offer.uuid}.`);
	engine.deleteOffer(offer);
	return { status: 200, body: 'null' };
}

function claimOffer(db: Database, caller: Caller, ident: string, request: ApiRequest): Reply {
	requireAnyRole(caller, 'esi_leap:offer:claim');
	// A name is resolved for the policy check only (an unknown one is 404, edge-207); the lease is
	// then built with the name as offer_uuid, which never validates (edge-069, 375).
	if (!isUuidLike(ident)) lookup(db.offers, ident, 'Offer', ['available'], 'status');
	const offer = db.offers.find((candidate) => candidate.uuid === ident);
	if (!offer) raise(500, "'NoneType' object has no attribute 'status'");
	if (offer.status !== 'available') raise(404, `Offer with name or uuid ${ident} not found.`);
	if (!offerVisibleTo(offer, caller)) raise(403, `Access was denied to offer ${offer.uuid}.`);
	const { raw, times } = validateBody(request, 'new_lease', LEASE_ATTRIBUTES);
	const { start, given: end0 } = leaseStart(caller, times);
	let end = end0;
	if (end === undefined) {
		const nextLease = db.leases
			.filter(
				(lease) =>
					lease.offerUuid === offer.uuid &&
					(lease.status === 'created' || lease.status === 'active') &&
					lease.startTime > start,
			)
			.map((lease) => lease.startTime)
			.sort()[0];
		end = [addSeconds(start, DEFAULT_LEASE_DAYS * DAY), nextLease, offer.endTime]
			.filter((time): time is NaiveTime => time !== undefined)
			.sort()[0];
	}
	checkTimeRange(start, end);
	const busy = db.leases.some(
		(lease) =>
			lease.offerUuid === offer.uuid &&
			(lease.status === 'created' || lease.status === 'active') &&
			overlaps(lease.startTime, lease.endTime, start, end as NaiveTime),
	);
	if (busy || start < offer.startTime || end > offer.endTime) {
		raise(
			500,
			`Offer ${offer.uuid} has no availabilities at given time range ${pythonStr(start)}, ${pythonStr(end)}.`,
		);
	}
	const lease: Lease = {
		id: db.nextLeaseId++,
		uuid: randomUUID(),
		name: optionalString(raw.name),
		projectId: caller.projectId,
		ownerId: offer.projectId,
		resourceType: offer.resourceType,
		resourceUuid: offer.resourceUuid,
		startTime: start,
		endTime: end,
		fulfillTime: null,
		expireTime: null,
		status: 'created',
		properties: objectValue(raw.properties),
		purpose: optionalString(raw.purpose),
		offerUuid: ident,
		parentLeaseUuid: offer.parentLeaseUuid,
	};
	db.leases.push(lease);
	return json(201, leaseView(db, lease));
}

function listLeases(
	db: Database,
	config: ApiConfig,
	caller: Caller,
	query: URLSearchParams,
): Reply {
	requireAnyRole(caller, 'esi_leap:lease:get_all');
	const args = checkArguments(query, [
		'project_id',
		'owner_id',
		'status',
		'start_time',
		'end_time',
		'offer_uuid',
		'view',
		'resource_type',
		'resource_uuid',
		'resource_class',
	]);
	const period = queryPeriod(args, 'start_time', 'end_time');
	requireWholePeriod(period, 'a lease');
	const { start, end } = period;
	const projectId = optionalProject(db, args.project_id);
	const ownerId = optionalProject(db, args.owner_id);
	let lesseeOrOwner: string | undefined;
	if (args.view === 'all') {
		if (!caller.isAdmin) denyRule('esi_leap:lease:lease_admin');
	} else if (ownerId !== undefined) {
		if (ownerId !== caller.projectId && !caller.isAdmin) denyRule('esi_leap:lease:lease_admin');
	} else if (projectId === undefined) {
		lesseeOrOwner = caller.projectId;
	} else if (projectId !== caller.projectId && !caller.isAdmin) {
		denyRule('esi_leap:lease:lease_admin');
	}
	const resource = defaultResourceFilter(db, config, args.resource_type, args.resource_uuid);
	const status = args.status ?? 'default';
	const defaults = ['created', 'active', 'error', 'wait cancel', 'wait expire', 'wait fulfill'];
	const leases = db.leases.filter((lease) => {
		if (!statusMatches(status, defaults, lease.status)) return false;
		if (
			lesseeOrOwner !== undefined &&
			lease.projectId !== lesseeOrOwner &&
			lease.ownerId !== lesseeOrOwner
		)
			return false;
		if (projectId !== undefined && lease.projectId !== projectId) return false;
		if (ownerId !== undefined && lease.ownerId !== ownerId) return false;
		if (args.offer_uuid !== undefined && lease.offerUuid !== args.offer_uuid) return false;
		if (start && end) {
			const inside = (time: NaiveTime) => start <= time && time <= end;
			if (
				!(
					inside(lease.startTime) ||
					inside(lease.endTime) ||
					(lease.startTime <= start && lease.endTime >= end)
				)
			)
				return false;
		}
		return resourceMatches(db, resource, args.resource_class, lease);
	});
	return json(200, { leases: leases.map((lease) => leaseView(db, lease)) });
}

function canSeeLease(caller: Caller, lease: Lease): boolean {
	return (
		caller.isAdmin || caller.projectId === lease.ownerId || caller.projectId === lease.projectId
	);
}

function showLease(db: Database, caller: Caller, ident: string): Reply {
	const lease = lookup(db.leases, ident, 'Lease', undefined, 'owner_id');
	if (!canSeeLease(caller, lease)) raise(403, `Access was denied to lease ${lease.uuid}.`);
	requireKnownProject(db, lease.projectId);
	return json(200, leaseView(db, lease));
}

function createLease(db: Database, config: ApiConfig, caller: Caller, request: ApiRequest): Reply {
	if (!caller.isAdmin && !caller.isOwner) denyRule('esi_leap:lease:create');
	const { raw, times } = validateBody(request, 'new_lease', LEASE_ATTRIBUTES);
	if (raw.resource_uuid === undefined || raw.resource_uuid === null) raise(500, "'resource_uuid'");
	const type = checkResourceType(optionalString(raw.resource_type) ?? config.defaultResourceType);
	const uuid = resourceUuidOf(db, type, String(raw.resource_uuid));
	const lessee = optionalString(raw.project_id);
	const projectId = lessee === null ? null : resolveProject(db, lessee);
	const { start, given } = leaseStart(caller, times);
	const end = given ?? addSeconds(start, DEFAULT_LEASE_DAYS * DAY);
	checkTimeRange(start, end);
	checkResourceOwnership(db, caller, type, uuid);
	checkTimeConflict(db, type, uuid, start, end);
	const uuidOfLease = randomUUID();
	if (projectId === null) {
		raiseNullProject(uuidOfLease, raw, caller, type, uuid, start, end);
	}
	const lease: Lease = {
		id: db.nextLeaseId++,
		uuid: uuidOfLease,
		name: optionalString(raw.name),
		projectId,
		ownerId: caller.projectId,
		resourceType: type,
		resourceUuid: uuid,
		startTime: start,
		endTime: end,
		fulfillTime: null,
		expireTime: null,
		status: 'created',
		properties: objectValue(raw.properties),
		purpose: optionalString(raw.purpose),
		offerUuid: null,
		parentLeaseUuid: null,
	};
	db.leases.push(lease);
	// Stored, and then the answer fails on an unknown project UUID (edge-095, 096).
	requireKnownProject(db, lease.projectId);
	return json(201, leaseView(db, lease));
}

/** SQLAlchemy's datetime parameter: `str(datetime)` always with microseconds. */
function sqlTime(time: NaiveTime): string {
	return time.replace('T', ' ');
}

/** The raw IntegrityError of a lease without project_id, SQL and parameters included (edge-079). */
function raiseNullProject(
	leaseUuid: string,
	raw: Record<string, unknown>,
	caller: Caller,
	type: ResourceType,
	resourceUuid: string,
	start: NaiveTime,
	end: NaiveTime,
): never {
	const text = (value: string | null) => (value === null ? 'None' : pyRepr(value));
	const parameters = [
		pyRepr(sqlTime(now())),
		'None',
		pyRepr(leaseUuid),
		text(optionalString(raw.name)),
		'None',
		pyRepr(caller.projectId),
		text(optionalString(raw.purpose)),
		pyRepr(type),
		pyRepr(resourceUuid),
		pyRepr(sqlTime(start)),
		pyRepr(sqlTime(end)),
		'None',
		'None',
		"'created'",
		pyRepr(pyDumps(objectValue(raw.properties))),
		'None',
		'None',
	];
	raise(
		500,
		'(sqlite3.IntegrityError) NOT NULL constraint failed: leases.project_id\n' +
			'[SQL: INSERT INTO leases (created_at, updated_at, uuid, name, project_id, owner_id, purpose, ' +
			'resource_type, resource_uuid, start_time, end_time, fulfill_time, expire_time, status, ' +
			'properties, offer_uuid, parent_lease_uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]\n' +
			`[parameters: (${parameters.join(', ')})]\n` +
			'(Background on this error at: https://sqlalche.me/e/14/gkpj)',
	);
}

/**
 * A UUID-like project is stored unchecked (edge README finding 20); building a single-object
 * answer then asks Keystone for its name and fails (edge-095, 109, 365, 378). Lists print "".
 */
function requireKnownProject(db: Database, projectId: string | null): void {
	if (projectId && !db.projects.some((project) => project.id === projectId)) {
		raise(
			500,
			`Could not find project: ${projectId}. (HTTP 404) (Request-ID: req-${randomUUID()})`,
		);
	}
}

function updateLease(db: Database, caller: Caller, ident: string, request: ApiRequest): Reply {
	const lease = lookup(db.leases, ident, 'Lease', undefined, 'owner_id');
	if (!caller.isAdmin) raise(403, `Access was denied to lease ${lease.uuid}.`);
	// `patch` is an optional {str: str} argument: absent or null reaches `patch.keys()`
	// (edge-032, 033, 035); any key but end_time is refused (edge-034, 166, 175, 188).
	const body = dictBody(request, 'patch', false);
	if (body === null) raise(500, "'NoneType' object has no attribute 'keys'");
	const keys = Object.keys(body as Record<string, unknown>);
	if (keys.length !== 1 || keys[0] !== 'end_time')
		raise(500, 'Only the end_time field may be updated');
	const value = (body as Record<string, unknown>).end_time;
	if (typeof value !== 'string')
		raise(
			500,
			// edge-184, 185, 187
			`strptime() argument 1 must be str, not ${value === null ? 'None' : pyTypeName(value)}`,
		);
	const parsed = parseStrict(value);
	if (!parsed.time) raise(500, parsed.error as string);
	const newEnd = parsed.time;
	checkTimeRange(lease.startTime, newEnd);
	if (newEnd > lease.endTime) {
		const conflict = db.leases.some(
			(other) =>
				other !== lease &&
				other.resourceType === lease.resourceType &&
				other.resourceUuid === lease.resourceUuid &&
				(other.status === 'created' || other.status === 'active') &&
				overlaps(other.startTime, other.endTime, lease.endTime, newEnd),
		);
		if (conflict) raise(500, `Time conflict for ${lease.resourceType} ${lease.resourceUuid}.`);
	}
	lease.endTime = newEnd;
	return json(200, leaseView(db, lease));
}

async function deleteLease(
	db: Database,
	engine: Engine,
	caller: Caller,
	ident: string,
): Promise<Reply> {
	// edge-198: the delete path dereferences `.status` first.
	const lease = lookup(db.leases, ident, 'Lease', LEASE_CAN_DELETE, 'status');
	if (!canSeeLease(caller, lease)) raise(403, `Access was denied to lease ${lease.uuid}.`);
	await engine.cancelLease(lease, caller.context);
	return { status: 200, body: 'null' };
}

function listNodes(db: Database, caller: Caller, query: URLSearchParams): Reply {
	const args = checkArguments(query, ['resource_class', 'owner', 'lessee']);
	const ownNodesOnly = db.ironicNodeListPolicy === 'owner-or-lessee';
	// Ironic's legacy policy lets only admins list nodes; ESI passes its 403 on as a 500 (rest-20).
	if (!caller.isAdmin && !ownNodesOnly)
		raise(500, 'Access was denied to the following resource: baremetal:node:list (HTTP 403)');
	const owner = optionalProject(db, args.owner);
	const lessee = optionalProject(db, args.lessee);
	const at = now();
	const nodes = db.ironicNodes
		.filter(
			(node) =>
				// Ironic shows a non-admin the nodes it owns or leases (edge-322, 386).
				(caller.isAdmin ||
					node.ownerProjectId === caller.projectId ||
					node.lesseeProjectId === caller.projectId) &&
				(args.resource_class === undefined || node.resourceClass === args.resource_class) &&
				(owner === undefined || node.ownerProjectId === owner) &&
				(lessee === undefined || node.lesseeProjectId === lessee),
		)
		.map((node) => {
			const onNode = (item: { resourceType: string; resourceUuid: string }) =>
				item.resourceType === 'ironic_node' && item.resourceUuid === node.uuid;
			const available = db.offers.filter((offer) => onNode(offer) && offer.status === 'available');
			const current = available
				.filter((offer) => offer.startTime <= at && at <= offer.endTime)
				.pop();
			const view: Record<string, unknown> = {
				name: node.name,
				owner: projectName(db, node.ownerProjectId),
				maintenance: node.maintenance ? 'True' : 'False',
				provision_state: node.provisionState,
				target_provision_state: null,
				power_state: node.powerState,
				target_power_state: null,
				properties: describeResource(db, 'ironic_node', node.uuid).properties,
				resource_class: node.resourceClass,
				uuid: node.uuid,
			};
			if (current) view.offer_uuid = current.uuid;
			if (typeof node.properties.lease_uuid === 'string')
				view.lease_uuid = node.properties.lease_uuid;
			view.lessee = projectName(db, node.lesseeProjectId);
			view.future_offers = available
				.filter((offer) => offer.startTime > at)
				.map((offer) => offer.uuid);
			view.future_leases = db.leases
				.filter((lease) => onNode(lease) && lease.status === 'created')
				.map((lease) => lease.uuid);
			return view;
		});
	return json(200, { nodes });
}

function listEvents(
	db: Database,
	config: ApiConfig,
	caller: Caller,
	query: URLSearchParams,
): Reply {
	const args = checkArguments(query, [
		'last_event_id',
		'last_event_time',
		'lessee_or_owner_id',
		'event_type',
		'resource_type',
		'resource_uuid',
	]);
	let lastEventId = 0;
	if (args.last_event_id !== undefined) {
		const text = args.last_event_id.trim();
		if (!/^[+-]?\d+$/.test(text)) {
			raise(
				400,
				`Invalid input for field/attribute last_event_id. Value: '${args.last_event_id}'. ` +
					`unable to convert to int. Error: invalid literal for int() with base 10: ${pyRepr(args.last_event_id)}`,
			);
		}
		// SQLite's INTEGER is 64-bit (edge-297).
		if (BigInt(text) > 9_223_372_036_854_775_807n)
			raise(500, 'Python int too large to convert to SQLite INTEGER');
		lastEventId = Number(text);
	}
	const lastEventTime = queryTime('last_event_time', args.last_event_time);
	// Non-admins are silently scoped to their own project (the filter is overwritten).
	const scope = caller.isAdmin
		? args.lessee_or_owner_id === undefined
			? undefined
			: resolveProject(db, args.lessee_or_owner_id)
		: caller.projectId;
	const resource = defaultResourceFilter(db, config, args.resource_type, args.resource_uuid);
	let index = 0;
	if (lastEventId) {
		// Rows are kept sorted by id: binary search the first id above the cursor.
		let high = db.events.length;
		while (index < high) {
			const middle = (index + high) >>> 1;
			if (db.events[middle].id <= lastEventId) index = middle + 1;
			else high = middle;
		}
	}
	const parts: string[] = [];
	for (; index < db.events.length; index++) {
		const event = db.events[index];
		if (!event.visible) continue;
		if (lastEventTime !== undefined && !(event.eventTime > lastEventTime)) continue;
		if (scope !== undefined && event.lesseeId !== scope && event.ownerId !== scope) continue;
		if (args.event_type !== undefined && event.eventType !== args.event_type) continue;
		if (resource.type !== undefined && event.resourceType !== resource.type) continue;
		if (resource.uuid !== undefined && event.resourceUuid !== resource.uuid) continue;
		parts.push(eventJson(event));
	}
	return { status: 200, body: `{"events": [${parts.join(', ')}]}` };
}

function createConsoleToken(db: Database, caller: Caller, request: ApiRequest): Reply {
	const value = dictBody(request, 'new_console_auth_token', true);
	// esi_leap/api/controllers/v1/console_auth_token.py indexes the dict: edge-044 (None),
	// edge-043 (no key).
	if (value === null) raise(500, "'NoneType' object is not subscriptable");
	const body = value as Record<string, unknown>;
	if (!('node_uuid_or_name' in body)) raise(500, "'node_uuid_or_name'");
	const ident = optionalString(body.node_uuid_or_name) ?? '';
	const node = findIronicNode(db, ident);
	const visible =
		node &&
		(caller.isAdmin ||
			node.ownerProjectId === caller.projectId ||
			node.lesseeProjectId === caller.projectId);
	if (!node || !visible) raise(500, `Node ${ident} could not be found. (HTTP 404)`);
	const ttl = body.token_ttl === undefined ? 600 : Number.parseInt(String(body.token_ttl), 10);
	if (Number.isNaN(ttl))
		raise(500, `invalid literal for int() with base 10: ${pyRepr(String(body.token_ttl))}`);
	if (ttl <= 0) raise(500, 'An unknown exception occurred.');
	const token = randomUUID();
	db.consoleTokens.push({
		nodeUuid: node.uuid,
		token,
		expiresAt: Date.now() + ttl * 1000,
	});
	return json(201, {
		node_uuid: node.uuid,
		token,
		access_url: `ws://0.0.0.0:6083/?token=${token}`,
	});
}

function deleteConsoleTokens(db: Database, caller: Caller, ident: string): Reply {
	const node = findIronicNode(db, ident);
	if (
		!node ||
		!(
			caller.isAdmin ||
			node.ownerProjectId === caller.projectId ||
			node.lesseeProjectId === caller.projectId
		)
	) {
		raise(500, `Node ${ident} could not be found. (HTTP 404)`);
	}
	db.consoleTokens = db.consoleTokens.filter((token) => token.nodeUuid !== node.uuid);
	return { status: 200, body: 'null' };
}

// ---------------------------------------------------------------------------------------------
// Routing

function versionDocument(host: string) {
	const version = {
		id: 'v1',
		links: [{ href: `http://${host}/v1`, rel: 'self' }],
		status: 'CURRENT',
		min_version: '1.0',
		version: '1.0',
	};
	return {
		name: 'ESI Leap API',
		description:
			'ESI Leap is an OpenStack service for leasing baremetal nodes, designed to run on top of multi-tenant Ironic.',
		default_version: version,
		versions: [version],
	};
}

/**
 * webob's error page: HTML when the client accepts it (any type, or html), else the plain-text form
 * (edge-237..242, 359 were sent without Accept: `text/plain`, "<status>\n\n<text> \n\n ").
 */
function errorPage(request: ApiRequest, status: 404 | 405, text: string): Reply {
	const accept = String(request.headers.accept ?? '');
	if (accept.includes('html') || accept.includes('*/*')) return htmlError(status, text);
	const title = status === 404 ? '404 Not Found' : '405 Method Not Allowed';
	return {
		status,
		headers: {
			'Content-Type': 'text/plain; charset=UTF-8',
			...(status === 405 ? { Allow: '' } : {}),
		},
		body: `${title}\n\n${text} \n\n `,
	};
}

const notAllowed = (request: ApiRequest) =>
	errorPage(request, 405, `The method ${request.method} is not allowed for this resource.`);
const notFound = (request: ApiRequest) =>
	errorPage(request, 404, 'The resource could not be found.');

export async function handleEsi(
	db: Database,
	engine: Engine,
	config: ApiConfig,
	request: ApiRequest,
): Promise<Reply> {
	const { method, path } = request;
	const host = String(request.headers.host ?? '127.0.0.1');
	if (path === '/')
		return method === 'GET' ? json(200, versionDocument(host)) : notAllowed(request);
	if (!request.token) return middlewareUnauthorized(config.keystoneRoot);
	const caller = callerFrom(request.token, `req-${randomUUID()}`);
	let reply: Reply;
	try {
		reply = await route(db, engine, config, caller, request, host);
	} catch (error) {
		reply = error instanceof HttpFault ? error.reply : fault(500, (error as Error).message);
	}
	return negotiated(request, reply);
}

const xmlEscape = (text: string) =>
	text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * WSME's content negotiation of a JSON answer: `Accept: application/xml` gets its XML for a
 * fault (edge-355) and an empty list (edge-354); `Accept: text/html` alone gets webob's 406
 * (edge-356). Other XML answers (objects, non-empty lists) are not modelled: they stay JSON.
 */
function negotiated(request: ApiRequest, reply: Reply): Reply {
	const accept = String(request.headers.accept ?? '');
	const isJson = (reply.headers?.['Content-Type'] ?? 'application/json') === 'application/json';
	if (!isJson || accept === '' || /json|\*\/\*/.test(accept)) return reply;
	if (/^text\/html$/.test(accept.trim())) {
		return {
			status: 406,
			headers: { 'Content-Type': 'text/html; charset=UTF-8' },
			body:
				'<html>\n <head>\n  <title>406 Not Acceptable</title>\n </head>\n <body>\n  <h1>406 Not Acceptable</h1>\n' +
				'  The resource could not be generated that was acceptable to your browser\n(content of type text/html. <br /><br />\n\n </body>\n</html>',
		};
	}
	if (!/application\/xml|text\/xml/.test(accept)) return reply;
	const value = JSON.parse(reply.body) as Record<string, unknown> | null;
	const xmlReply = (body: string): Reply => ({
		status: reply.status,
		headers: { ...reply.headers, 'Content-Type': 'application/xml; charset=UTF-8' },
		body,
	});
	if (value && typeof value.faultstring === 'string') {
		return xmlReply(
			`<error><faultcode>${String(value.faultcode)}</faultcode><faultstring>${xmlEscape(value.faultstring)}</faultstring><debuginfo /></error>`,
		);
	}
	const keys = value ? Object.keys(value) : [];
	if (
		keys.length === 1 &&
		Array.isArray(value?.[keys[0]]) &&
		(value[keys[0]] as unknown[]).length === 0
	)
		return xmlReply(`<result><${keys[0]} /></result>`);
	return reply;
}

async function route(
	db: Database,
	engine: Engine,
	config: ApiConfig,
	caller: Caller,
	request: ApiRequest,
	host: string,
): Promise<Reply> {
	const { method, path, query } = request;
	if (path === '/v1')
		return {
			status: 302,
			headers: {
				Location: `http://${host}/v1/`,
				'Content-Type': 'text/plain; charset=UTF-8',
			},
			// edge-359 (no Accept header)
			body: `302 Found\n\nThe resource was found at http://${host}/v1/; you should be redirected automatically.  `,
		};
	if (path === '/v1/') {
		return json(300, {
			versions: [
				{
					id: 'v1.0',
					status: 'CURRENT',
					links: [{ href: `http://${host}/v1`, rel: 'self' }],
				},
			],
		});
	}
	const segments = path
		.replace(/^\/v1\//, '')
		.replace(/\/$/, '')
		.split('/')
		.map(decodeURIComponent);
	if (!path.startsWith('/v1/')) return notFound(request);
	const [collection, ident, action] = segments;
	const depth = segments.length;
	switch (collection) {
		case 'offers':
			if (depth === 1 && method === 'GET') return listOffers(db, config, caller, query);
			if (depth === 1 && method === 'POST') return createOffer(db, config, caller, request);
			if (depth === 2 && method === 'GET') return showOffer(db, caller, ident);
			if (depth === 2 && method === 'DELETE') return deleteOffer(db, engine, caller, ident);
			if (depth === 3 && action === 'claim' && method === 'POST')
				return claimOffer(db, caller, ident, request);
			return notAllowed(request);
		case 'leases':
			if (depth === 1 && method === 'GET') return listLeases(db, config, caller, query);
			if (depth === 1 && method === 'POST') return createLease(db, config, caller, request);
			if (depth === 2 && method === 'GET') return showLease(db, caller, ident);
			if (depth === 2 && method === 'PATCH') return updateLease(db, caller, ident, request);
			if (depth === 2 && method === 'DELETE') return deleteLease(db, engine, caller, ident);
			return notAllowed(request);
		case 'nodes':
			if (depth === 1 && method === 'GET') return listNodes(db, caller, query);
			return notAllowed(request);
		case 'events':
			if (depth === 1 && method === 'GET') return listEvents(db, config, caller, query);
			return notAllowed(request);
		case 'console_auth_tokens':
			if (depth === 1 && method === 'POST') return createConsoleToken(db, caller, request);
			if (depth === 2 && method === 'DELETE') return deleteConsoleTokens(db, caller, ident);
			return notAllowed(request);
		default:
			// pecan's RestController answers an unknown sub-path of /v1 with 405 (edge-237).
			return notAllowed(request);
	}
}
