/**
 * Fault injection and scenario helpers, used in-process by tests and over HTTP
 * (`/_emulator/...` on the ESI port) by the e2e test and the demo.
 */
import { addSeconds, now, restFormat, setClock, type NaiveTime } from './clock';
import type { Engine } from './engine';
import { fault, json, type Reply } from './http';
import type { TokenStore } from './keystone';
import {
	newDummyNode,
	randomUUID,
	type Database,
	type DummyNode,
	type EventRow,
	type Role,
} from './model';
import { findIronicNode } from './resources';

export interface FailureRule {
	remaining: number;
	status: number;
	/**
	 * Read the request and never answer, as the real API's wedged worker did (edge-086, edge
	 * README section 8: one request unanswered for good, or, after the listening socket was
	 * dropped, every request).
	 */
	hang?: boolean;
	/** Only requests whose path starts with this prefix fail (all ESI paths when absent). */
	pathPrefix?: string;
}

export interface LifecycleOptions {
	/** `delete`: the lessee cancels through the API; `expire`: the manager expires it. */
	ending?: 'delete' | 'expire';
	/** Lease length for `expire` (seconds, default 1). */
	leaseSeconds?: number;
	name?: string;
}

export interface LifecycleResult {
	offerUuid: string;
	leaseUuid: string;
	resourceUuid: string;
	ending: 'delete' | 'expire';
	/** Event rows the lifecycle produced, in id order. */
	events: EventRow[];
}

export interface SeedEventsOptions {
	lesseeId?: string;
	ownerId?: string;
	eventType?: string;
	resourceType?: string;
	/** Default: one fresh UUID per call (a node that is not in the emulator's inventory). */
	resourceUuid?: string;
}

export interface SeedObjectsOptions {
	/** Lessee project of the leases (default esi-lessee); offers are open to every project. */
	lesseeId?: string;
	/** Seconds from now to the end; default 7 days (ESI's default lease length). */
	endInSeconds?: number;
}

export interface EmulatorControl {
	/** Runs one manager pass now (the interval keeps running too). */
	tick(): Promise<void>;
	/**
	 * Sets ESI's clock (naive UTC `YYYY-MM-DDTHH:MM:SS.ffffff`); later stamps continue from there.
	 * Process-wide: affects every emulator in the same process. Token expiry keeps real time.
	 */
	setClock(time: NaiveTime): void;
	/** Ironic node (uuid or name) or dummy node uuid: fulfil/release fail until fixed. */
	breakNode(node: string): void;
	fixNode(node: string): void;
	addDummyNode(uuid?: string, properties?: Record<string, unknown>): string;
	/** The next `count` ESI requests (optionally only under `pathPrefix`) answer `status`. */
	failNextRequests(count: number, options?: { status?: number; pathPrefix?: string }): void;
	/**
	 * The next `count` ESI requests (optionally only under `pathPrefix`) get no answer at all;
	 * `Infinity` is the total outage of edge-086. The connection stays open until stop().
	 */
	hangNextRequests(count: number, options?: { pathPrefix?: string }): void;
	/** The next `count` Keystone logins get no answer at all (see TokenStore.hangingLogins). */
	hangNextLogins(count: number): void;
	/** Also ends hangs to come (requests already hanging stay so). */
	clearFailures(): void;
	revokeAllTokens(): void;
	/** Every token issued so far is expired from now on (Keystone still issues new ones). */
	expireAllTokens(): void;
	setTokenLifetime(seconds: number): void;
	/** The next `count` event rows get ids but stay invisible until released ("uncommitted"). */
	holdNextEvents(count: number): void;
	/** Makes held rows visible; returns their ids. */
	releaseHeldEvents(): number[];
	/** Appends `count` event rows quickly (history backlogs); returns the id range. */
	seedEvents(count: number, options?: SeedEventsOptions): { firstId: number; lastId: number };
	/**
	 * Inserts `count` active leases (or available offers) on `test_node` resources straight into
	 * the database, for benchmarks of the lease and offer lists; returns their uuids. A test_node
	 * accepts any id and keeps no state (spec §7.2), so no node inventory is needed.
	 */
	seedLeases(count: number, options?: SeedObjectsOptions): string[];
	seedOffers(count: number, options?: SeedObjectsOptions): string[];
	runLifecycle(options?: LifecycleOptions): Promise<LifecycleResult>;
	/**
	 * Runs `action` right after the emulator has answered the next ESI request whose path starts
	 * with `pathPrefix`, before it reads the next one: e.g. revoke every token in the middle of a
	 * poll, between its GET /v1/events and the lease lookups that follow.
	 */
	afterNextRequest(pathPrefix: string, action: () => void): void;
	/** Requests the ESI port answered, oldest first (method, path with query, status). */
	readonly requestLog: Array<{ method: string; path: string; status: number }>;
	/** Requests the Keystone port answered, oldest first; logins are `POST /v3/auth/tokens`. */
	readonly keystoneLog: Array<{ method: string; path: string; status: number }>;
}

/** One-shot hooks run after an answered ESI request (see EmulatorControl.afterNextRequest). */
export interface AfterRequestHook {
	pathPrefix: string;
	action: () => void;
}

export interface ControlDeps {
	db: Database;
	engine: Engine;
	tokens: TokenStore;
	failures: FailureRule[];
	requestLog: Array<{ method: string; path: string; status: number }>;
	keystoneLog: Array<{ method: string; path: string; status: number }>;
	afterRequest: AfterRequestHook[];
	/** Runs an ESI request as the given user, through the real handler. */
	callAs(role: Role, method: string, path: string, body?: unknown): Promise<Reply>;
}

function findNode(db: Database, ident: string): { broken: boolean } {
	const node = findIronicNode(db, ident) ?? db.dummyNodes.find((dummy) => dummy.uuid === ident);
	if (!node) throw new Error(`emulator: no Ironic or dummy node ${ident}`);
	return node;
}

function expectStatus(reply: Reply, status: number, what: string): { uuid: string } {
	if (reply.status !== status)
		throw new Error(`emulator lifecycle: ${what} answered ${reply.status}: ${reply.body}`);
	return JSON.parse(reply.body);
}

export function createControl(deps: ControlDeps): EmulatorControl {
	const { db, engine, tokens } = deps;

	const freeDummyNode = (): DummyNode => {
		const busy = (uuid: string) =>
			db.offers.some((offer) => offer.resourceUuid === uuid && offer.status === 'available') ||
			db.leases.some(
				(lease) =>
					lease.resourceUuid === uuid &&
					['created', 'active', 'wait fulfill', 'wait expire', 'wait cancel'].includes(
						lease.status,
					),
			);
		const free = db.dummyNodes.find((node) => !node.broken && !busy(node.uuid));
		if (free) return free;
		const uuid = control.addDummyNode();
		return db.dummyNodes.find((node) => node.uuid === uuid) as DummyNode;
	};

	const control: EmulatorControl = {
		tick: () => engine.tick(),
		setClock,
		breakNode(node) {
			findNode(db, node).broken = true;
		},
		fixNode(node) {
			findNode(db, node).broken = false;
		},
		addDummyNode(uuid = randomUUID(), properties = { cpus: 4, memory_mb: 8192, local_gb: 40 }) {
			db.dummyNodes.push(newDummyNode(uuid, db.projects[2].id, properties));
			return uuid;
		},
		failNextRequests(count, options = {}) {
			deps.failures.push({
				remaining: count,
				status: options.status ?? 500,
				pathPrefix: options.pathPrefix,
			});
		},
		hangNextRequests(count, options = {}) {
			deps.failures.push({
				remaining: count,
				status: 0,
				hang: true,
				pathPrefix: options.pathPrefix,
			});
		},
		hangNextLogins(count) {
			tokens.hangingLogins = (tokens.hangingLogins ?? 0) + count;
		},
		clearFailures() {
			deps.failures.length = 0;
			tokens.hangingLogins = 0;
		},
		revokeAllTokens() {
			for (const token of tokens.tokens.values()) token.revoked = true;
		},
		expireAllTokens() {
			const past = Date.now() - 1;
			for (const token of tokens.tokens.values()) token.expiresAt = Math.min(token.expiresAt, past);
		},
		setTokenLifetime(seconds) {
			tokens.lifetimeSeconds = seconds;
		},
		holdNextEvents(count) {
			engine.visibility.holdNext += count;
		},
		releaseHeldEvents() {
			const released = engine.visibility.held.splice(0);
			for (const row of released) row.visible = true;
			return released.map((row) => row.id);
		},
		seedEvents(count, options = {}) {
			const firstId = db.nextEventId;
			const lesseeId = options.lesseeId ?? db.projects[3].id;
			const ownerId = options.ownerId ?? db.projects[2].id;
			const eventTime = now();
			const resourceUuid = options.resourceUuid ?? randomUUID();
			for (let index = 0; index < count; index++) {
				const leaseUuid = randomUUID();
				engine.writeEvent({
					eventType:
						options.eventType ??
						(index % 2 === 0 ? 'esi_leap.lease.fulfill.start' : 'esi_leap.lease.fulfill.end'),
					eventTime,
					objectType: 'lease',
					objectUuid: leaseUuid,
					resourceType: options.resourceType ?? 'dummy_node',
					resourceUuid,
					lesseeId,
					ownerId,
				});
			}
			return { firstId, lastId: db.nextEventId - 1 };
		},
		seedLeases(count, options = {}) {
			const start = now();
			const end = addSeconds(start, options.endInSeconds ?? 7 * 86_400);
			return Array.from({ length: count }, () => {
				const uuid = randomUUID();
				db.leases.push({
					id: db.nextLeaseId++,
					uuid,
					name: null,
					projectId: options.lesseeId ?? db.projects[3].id,
					ownerId: db.projects[2].id,
					resourceType: 'test_node',
					resourceUuid: randomUUID(),
					startTime: start,
					endTime: end,
					fulfillTime: start,
					expireTime: null,
					status: 'active',
					properties: {},
					purpose: null,
					offerUuid: null,
					parentLeaseUuid: null,
				});
				return uuid;
			});
		},
		seedOffers(count, options = {}) {
			const start = now();
			const end = addSeconds(start, options.endInSeconds ?? 7 * 86_400);
			return Array.from({ length: count }, () => {
				const uuid = randomUUID();
				db.offers.push({
					id: db.nextOfferId++,
					uuid,
					name: null,
					projectId: db.projects[2].id,
					lesseeId: null,
					resourceType: 'test_node',
					resourceUuid: randomUUID(),
					startTime: start,
					endTime: end,
					status: 'available',
					properties: {},
					parentLeaseUuid: null,
				});
				return uuid;
			});
		},
		async runLifecycle(options = {}) {
			const ending = options.ending ?? 'delete';
			const node = freeDummyNode();
			const firstEventId = db.nextEventId;
			const start = now();
			const offer = expectStatus(
				await deps.callAs('owner', 'POST', '/v1/offers', {
					resource_type: 'dummy_node',
					resource_uuid: node.uuid,
					start_time: restFormat(start),
					end_time: restFormat(addSeconds(start, 86_400)),
					name: options.name ?? 'emulator-lifecycle',
				}),
				201,
				'offer create',
			);
			const leaseEnd = addSeconds(now(), ending === 'expire' ? (options.leaseSeconds ?? 1) : 3_600);
			const lease = expectStatus(
				await deps.callAs('lessee', 'POST', `/v1/offers/${offer.uuid}/claim`, {
					name: options.name ?? 'emulator-lifecycle',
					end_time: restFormat(leaseEnd),
				}),
				201,
				'offer claim',
			);
			await engine.tick();
			if (ending === 'delete') {
				expectStatus(
					await deps.callAs('lessee', 'DELETE', `/v1/leases/${lease.uuid}`),
					200,
					'lease delete',
				);
			} else {
				const stored = db.leases.find((candidate) => candidate.uuid === lease.uuid);
				while (stored && stored.status === 'active') {
					await new Promise((resolve) => setTimeout(resolve, 100));
					if (now() >= leaseEnd) await engine.tick();
				}
			}
			expectStatus(
				await deps.callAs('owner', 'DELETE', `/v1/offers/${offer.uuid}`),
				200,
				'offer delete',
			);
			return {
				offerUuid: offer.uuid,
				leaseUuid: lease.uuid,
				resourceUuid: node.uuid,
				ending,
				events: db.events.filter((row) => row.id >= firstEventId && row.objectUuid === lease.uuid),
			};
		},
		afterNextRequest(pathPrefix, action) {
			deps.afterRequest.push({ pathPrefix, action });
		},
		requestLog: deps.requestLog,
		keystoneLog: deps.keystoneLog,
	};
	return control;
}

/** `POST /_emulator/<action>` (JSON body) and `GET /_emulator/state`, for out-of-process use. */
export async function handleControlHttp(
	control: EmulatorControl,
	db: Database,
	method: string,
	action: string,
	body: Record<string, unknown>,
): Promise<Reply> {
	try {
		if (method === 'GET' && action === 'state') {
			return json(200, {
				offers: db.offers.length,
				leases: db.leases.length,
				events: db.events.length,
				lastEventId: db.nextEventId - 1,
			});
		}
		if (method !== 'POST') return fault(405, `use POST /_emulator/${action}`);
		switch (action) {
			case 'tick':
				await control.tick();
				return json(200, { ok: true });
			case 'break-node':
				control.breakNode(String(body.node));
				return json(200, { ok: true });
			case 'fix-node':
				control.fixNode(String(body.node));
				return json(200, { ok: true });
			case 'fail-next':
				control.failNextRequests(Number(body.count ?? 1), {
					status: body.status === undefined ? undefined : Number(body.status),
					pathPrefix: body.pathPrefix === undefined ? undefined : String(body.pathPrefix),
				});
				return json(200, { ok: true });
			case 'hang-next':
				control.hangNextRequests(body.count === 'all' ? Infinity : Number(body.count ?? 1), {
					pathPrefix: body.pathPrefix === undefined ? undefined : String(body.pathPrefix),
				});
				return json(200, { ok: true });
			case 'hang-logins':
				control.hangNextLogins(Number(body.count ?? 1));
				return json(200, { ok: true });
			case 'clear-failures':
				control.clearFailures();
				return json(200, { ok: true });
			case 'revoke-tokens':
				control.revokeAllTokens();
				return json(200, { ok: true });
			case 'expire-tokens':
				control.expireAllTokens();
				return json(200, { ok: true });
			case 'token-lifetime':
				control.setTokenLifetime(Number(body.seconds));
				return json(200, { ok: true });
			case 'hold-events':
				control.holdNextEvents(Number(body.count ?? 1));
				return json(200, { ok: true });
			case 'release-events':
				return json(200, { released: control.releaseHeldEvents() });
			case 'seed-events':
				return json(200, control.seedEvents(Number(body.count ?? 1)));
			case 'seed-leases':
				return json(200, { uuids: control.seedLeases(Number(body.count ?? 1)) });
			case 'seed-offers':
				return json(200, { uuids: control.seedOffers(Number(body.count ?? 1)) });
			case 'lifecycle': {
				const result = await control.runLifecycle({
					ending: body.ending === 'expire' ? 'expire' : 'delete',
					leaseSeconds: body.leaseSeconds === undefined ? undefined : Number(body.leaseSeconds),
				});
				return json(200, {
					...result,
					events: result.events.map((row) => ({
						id: row.id,
						event_type: row.eventType,
					})),
				});
			}
			default:
				return fault(404, `unknown emulator action ${action}`);
		}
	} catch (error) {
		return fault(400, (error as Error).message);
	}
}
