/**
 * ESI Leap + Keystone emulator: `startEmulator()` serves Keystone v3 and the ESI Leap v1 API on
 * two loopback ports, runs the manager tick, and publishes oslo notifications when given an AMQP
 * URL. See README.md in this folder.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleEsi, type ApiConfig } from './api';
import {
	createControl,
	handleControlHttp,
	type AfterRequestHook,
	type EmulatorControl,
	type FailureRule,
} from './control';
import { httpDate, now } from './clock';
import { createEngine } from './engine';
import { fault, readBody, send, type Reply } from './http';
import { findValidToken, handleKeystone, issueToken, type TokenStore } from './keystone';
import { seedDatabase, type Database, type Project, type ResourceType, type Role } from './model';
import { createNotifier } from './notifier';

export type { EmulatorControl, LifecycleOptions, LifecycleResult } from './control';
export { NOTIFICATION_TOPIC, PUBLISH_PROPERTIES, routingKeyFor } from './notifier';

export interface EmulatorOptions {
	/** Bind address (default 127.0.0.1). */
	host?: string;
	/** 0 (default) picks a free port. */
	keystonePort?: number;
	esiPort?: number;
	/** Publish notifications here; without it events are still written (ESI with no driver). */
	amqpUrl?: string;
	/** Control exchange (default `openstack`); use a unique one per test run. */
	exchange?: string;
	/** Declare and bind `esi_leap_versioned_notifications.<priority>` queues like oslo (default true). */
	declareQueues?: boolean;
	/** Manager pass interval in ms (default 1000; 0 disables the timer, `control.tick()` still works). */
	tickIntervalMs?: number;
	tokenLifetimeSeconds?: number;
	/** `[DEFAULT] host`; publisher_id is `esi-leap-manager.<host>`. */
	serviceHost?: string;
	/** `[api] default_resource_type` (the captured instance used dummy_node). */
	defaultResourceType?: ResourceType;
	passwords?: Partial<Record<Role, string>>;
	/** Diagnostics (publish failures, tick errors). Default: discarded. */
	log?: (line: string) => void;
	/**
	 * Serve Keystone and ESI Leap over HTTPS with this certificate (PEM; it should name the bind
	 * address, e.g. `IP:127.0.0.1`); the URLs and the catalog then say `https://`.
	 */
	tls?: { cert: string; key: string };
}

export interface EmulatorUser {
	role: Role;
	id: string;
	name: string;
	password: string;
	/** Keystone domain of user and project. */
	domainName: 'Default';
	domainId: 'default';
	projectId: string;
	projectName: string;
	applicationCredentialId: string;
	applicationCredentialName: string;
	applicationCredentialSecret: string;
}

export interface Emulator {
	/** Keystone auth URL including `/v3`, e.g. http://127.0.0.1:5000/v3. */
	keystoneUrl: string;
	/** Keystone root without `/v3`. */
	keystoneRoot: string;
	/** ESI Leap root (the catalog URL, without `/v1`). */
	leaseUrl: string;
	users: Record<Role, EmulatorUser>;
	projects: Project[];
	exchange: string;
	control: EmulatorControl;
	/** The in-memory state, for assertions. */
	db: Database;
	/** A fresh project-scoped Keystone token for the role (issued in-process, no HTTP). */
	tokenFor(role: Role): string;
	stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
	});
}

function close(server: Server): Promise<void> {
	return new Promise((resolve) => {
		server.closeAllConnections();
		server.close(() => resolve());
	});
}

function serve(
	handler: (request: IncomingMessage, rawBody: string) => Promise<Reply>,
	date?: () => string,
) {
	return (request: IncomingMessage, response: ServerResponse) => {
		readBody(request)
			.then((rawBody) => handler(request, rawBody))
			.catch((error: Error) => fault(500, error.message))
			.then((reply) =>
				send(response, date ? { ...reply, headers: { Date: date(), ...reply.headers } } : reply),
			);
	};
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
	const host = options.host ?? '127.0.0.1';
	const log = options.log ?? (() => undefined);
	const exchange = options.exchange ?? 'openstack';
	const db = seedDatabase({ passwords: options.passwords });
	const tokens: TokenStore = {
		tokens: new Map(),
		lifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
	};
	const notifier = createNotifier({
		amqpUrl: options.amqpUrl,
		exchange,
		declareQueues: options.declareQueues ?? true,
		log,
	});
	const engine = createEngine(db, {
		notifier,
		publisherId: `esi-leap-manager.${options.serviceHost ?? 'esi-leap-emulator'}`,
		log,
	});
	const failures: FailureRule[] = [];
	const requestLog: Array<{ method: string; path: string; status: number }> = [];
	const keystoneLog: Array<{ method: string; path: string; status: number }> = [];
	const afterRequest: AfterRequestHook[] = [];

	let keystoneRoot = '';
	let leaseUrl = '';
	const config: ApiConfig = {
		defaultResourceType: options.defaultResourceType ?? 'dummy_node',
		get keystoneRoot() {
			return keystoneRoot;
		},
	};

	const callAs = (role: Role, method: string, path: string, body?: unknown): Promise<Reply> => {
		const user = db.users.find((candidate) => candidate.name === role);
		if (!user) throw new Error(`emulator: no user ${role}`);
		const token = issueToken(tokens, user, user.project, 'password');
		const url = new URL(path, 'http://emulator.internal');
		return handleEsi(db, engine, config, {
			method,
			path: url.pathname,
			query: url.searchParams,
			headers: {
				host: new URL(leaseUrl).host,
				'content-type': 'application/json',
			},
			rawBody: body === undefined ? '' : JSON.stringify(body),
			token,
		}).finally(() => tokens.tokens.delete(token.value));
	};
	const control = createControl({
		db,
		engine,
		tokens,
		failures,
		requestLog,
		keystoneLog,
		afterRequest,
		callAs,
	});

	const listener = (
		handler: (request: IncomingMessage, rawBody: string) => Promise<Reply>,
		date?: () => string,
	) =>
		options.tls
			? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, serve(handler, date))
			: createServer(serve(handler, date));

	const keystoneServer = listener(async (request, rawBody) => {
		const url = new URL(request.url ?? '/', 'http://keystone.internal');
		const method = request.method ?? 'GET';
		const reply = await handleKeystone(
			db,
			tokens,
			{ keystoneRoot, leaseRoot: () => leaseUrl },
			method,
			url.pathname,
			request.headers,
			rawBody,
		);
		keystoneLog.push({ method, path: url.pathname, status: reply.status });
		return reply;
	});

	const esiServer = listener(
		async (request, rawBody) => {
			const url = new URL(request.url ?? '/', 'http://esi.internal');
			const method = request.method ?? 'GET';
			if (url.pathname.startsWith('/_emulator/')) {
				let body: Record<string, unknown> = {};
				try {
					body = rawBody ? JSON.parse(rawBody) : {};
				} catch {
					return fault(400, 'control body must be JSON');
				}
				return handleControlHttp(
					control,
					db,
					method,
					url.pathname.slice('/_emulator/'.length),
					body,
				);
			}
			const failure = failures.find(
				(rule) =>
					rule.remaining > 0 && (!rule.pathPrefix || url.pathname.startsWith(rule.pathPrefix)),
			);
			let reply: Reply;
			if (failure) {
				failure.remaining--;
				if (failure.remaining === 0) failures.splice(failures.indexOf(failure), 1);
				if (failure.hang) return await new Promise<Reply>(() => undefined);
				reply = fault(
					failure.status,
					`Injected failure (HTTP ${failure.status}) from the ESI Leap emulator`,
				);
			} else {
				reply = await handleEsi(db, engine, config, {
					method,
					path: url.pathname,
					query: url.searchParams,
					headers: request.headers,
					rawBody,
					token: findValidToken(tokens, request.headers['x-auth-token'] as string | undefined),
				});
			}
			requestLog.push({
				method,
				path: url.pathname + url.search,
				status: reply.status,
			});
			const hook = afterRequest.find((candidate) => url.pathname.startsWith(candidate.pathPrefix));
			if (hook) {
				afterRequest.splice(afterRequest.indexOf(hook), 1);
				hook.action();
			}
			return reply;
		},
		// ESI's eventlet WSGI server stamps every answer with the host clock, the clock the manager
		// compares end times with (a Date header in every capture, e.g.
		// test/fixtures/esi-leap-real/rest-14-leases-list-admin.json): here the emulated clock.
		() => httpDate(now()),
	);

	const keystonePort = await listen(keystoneServer, options.keystonePort ?? 0, host);
	const esiPort = await listen(esiServer, options.esiPort ?? 0, host);
	const scheme = options.tls ? 'https' : 'http';
	keystoneRoot = `${scheme}://${host}:${keystonePort}`;
	leaseUrl = `${scheme}://${host}:${esiPort}`;

	const interval = options.tickIntervalMs ?? 1000;
	const timer = interval > 0 ? setInterval(() => void engine.tick(), interval) : undefined;
	timer?.unref();

	const users = Object.fromEntries(
		db.users.map((user) => [
			user.name,
			{
				role: user.name as Role,
				id: user.id,
				name: user.name,
				password: user.password,
				domainName: 'Default',
				domainId: 'default',
				projectId: user.project.id,
				projectName: user.project.name,
				applicationCredentialId: user.applicationCredential.id,
				applicationCredentialName: user.applicationCredential.name,
				applicationCredentialSecret: user.applicationCredential.secret,
			} satisfies EmulatorUser,
		]),
	) as Record<Role, EmulatorUser>;

	return {
		keystoneUrl: `${keystoneRoot}/v3`,
		keystoneRoot,
		leaseUrl,
		users,
		projects: db.projects,
		exchange,
		control,
		db,
		tokenFor(role) {
			const user = db.users.find((candidate) => candidate.name === role);
			if (!user) throw new Error(`emulator: no user ${role}`);
			return issueToken(tokens, user, user.project, 'password').value;
		},
		async stop() {
			if (timer) clearInterval(timer);
			await engine.settle();
			await Promise.all([close(keystoneServer), close(esiServer)]);
			await notifier.close();
		},
	};
}
