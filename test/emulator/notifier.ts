/**
 * The oslo.messaging `messagingv2` notification driver, as ESI Leap uses it: topic exchange
 * `openstack` (non-durable), routing key `<topic>.<priority>`, a queue of the same name declared
 * and bound by the publisher, the v2 envelope with a double-encoded `oslo.message`, and the
 * driver's message properties. Without a URL it is a no-op, like ESI with no driver configured.
 *
 * In a broker outage it behaves like ESI Leap on oslo.messaging (issue 12, observed on a real
 * ESI Leap): a lost connection is re-opened in the background within a fraction of a second of
 * the broker's return, and the exchange is declared again at once
 * (oslo_messaging/_drivers/impl_rabbit.py Connection.notify_send declares
 * `Exchange(type='topic', durable=amqp_durable_queues (False), auto_delete=amqp_auto_delete
 * (False))` with each publish); a publish that fails is logged and dropped, and the caller still
 * writes its event row (esi_leap/objects/notification.py NotificationBase.emit calls notify()
 * and then event.create(); oslo_messaging/notify/messaging.py logs "Could not send
 * notification" instead of raising).
 */
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { envelopeTimestamp } from './clock';
import { hex32 } from './model';
import { pyDumps } from './pyjson';

export const NOTIFICATION_TOPIC = 'esi_leap_versioned_notifications';

export type Priority = 'INFO' | 'ERROR';

/** oslo.context RequestContext fields, in `to_dict()` order as they appear flattened. */
export interface RequestContext {
	user: string | null;
	projectId: string | null;
	userDomain: string | null;
	projectDomain: string | null;
	roles: string[];
	requestId: string;
}

export function newRequestId(): string {
	return `req-${randomUUID()}`;
}

export function managerContext(requestId = newRequestId()): RequestContext {
	return {
		user: null,
		projectId: null,
		userDomain: null,
		projectDomain: null,
		roles: [],
		requestId,
	};
}

function flattenContext(context: RequestContext): Record<string, unknown> {
	const dash = (value: string | null) => value ?? '-';
	return {
		_context_user: context.user,
		_context_project_id: context.projectId,
		_context_system_scope: null,
		_context_project: context.projectId,
		_context_domain: null,
		_context_user_domain: context.userDomain,
		_context_project_domain: context.projectDomain,
		_context_is_admin: false,
		_context_read_only: false,
		_context_show_deleted: false,
		_context_auth_token: null,
		_context_request_id: context.requestId,
		_context_global_request_id: null,
		_context_resource_uuid: null,
		_context_roles: context.roles,
		_context_user_identity: [
			context.user,
			context.projectId,
			null,
			context.userDomain,
			context.projectDomain,
		]
			.map(dash)
			.join(' '),
		_context_is_admin_project: true,
	};
}

export interface Notification {
	eventType: string;
	priority: Priority;
	payload: Record<string, unknown>;
	context: RequestContext;
}

/** The AMQP body bytes: `json.dumps` of the envelope whose `oslo.message` is `json.dumps(msg)`. */
export function encodeNotification(notification: Notification, publisherId: string): string {
	const message = {
		message_id: randomUUID(),
		publisher_id: publisherId,
		event_type: notification.eventType,
		priority: notification.priority,
		payload: notification.payload,
		timestamp: envelopeTimestamp(),
		_unique_id: hex32(),
		...flattenContext(notification.context),
	};
	return pyDumps({ 'oslo.version': '2.0', 'oslo.message': pyDumps(message) });
}

export function routingKeyFor(priority: Priority): string {
	return `${NOTIFICATION_TOPIC}.${priority.toLowerCase()}`;
}

export const PUBLISH_PROPERTIES = {
	contentType: 'application/json',
	contentEncoding: 'utf-8',
	deliveryMode: 2,
	priority: 0,
	headers: {},
} as const;

export interface NotifierOptions {
	amqpUrl?: string;
	/** Delay between background reconnect attempts after a lost connection; default 200 ms. */
	reconnectIntervalMs?: number;
	exchange: string;
	/** oslo declares `<topic>.<priority>` queues bound with their own names; tests may opt out. */
	declareQueues: boolean;
	log: (line: string) => void;
}

export interface Notifier {
	/**
	 * Resolves once the broker confirmed the message (true), or once the publish failed and was
	 * dropped (false); true at once without a broker.
	 */
	publish(routingKey: string, body: string): Promise<boolean>;
	/** Resolves when a connection with the exchange declared is open (tests). */
	connected(): Promise<void>;
	close(): Promise<void>;
}

export function createNotifier(options: NotifierOptions): Notifier {
	let connection: amqp.ChannelModel | undefined;
	let channel: amqp.ConfirmChannel | undefined;
	let opening: Promise<amqp.ConfirmChannel> | undefined;
	const declared = new Set<string>();
	let closedByUs = false;
	let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

	const reconnectSoon = () => {
		if (closedByUs || reconnectTimer) return;
		reconnectTimer = setTimeout(() => {
			reconnectTimer = undefined;
			open().then(
				() => options.log('amqp connection re-established; exchange declared'),
				() => reconnectSoon(),
			);
		}, options.reconnectIntervalMs ?? 200);
	};

	const open = async (): Promise<amqp.ConfirmChannel> => {
		if (channel) return channel;
		opening ??= (async () => {
			connection = await amqp.connect(options.amqpUrl as string);
			connection.on('error', (error: Error) =>
				options.log(`amqp connection error: ${error.message}`),
			);
			connection.on('close', () => {
				connection = undefined;
				channel = undefined;
				opening = undefined;
				declared.clear();
				reconnectSoon();
			});
			const created = await connection.createConfirmChannel();
			await created.assertExchange(options.exchange, 'topic', {
				durable: false,
				autoDelete: false,
			});
			channel = created;
			return created;
		})().catch((error: Error) => {
			opening = undefined;
			throw error;
		});
		return opening;
	};

	return {
		async publish(routingKey, body) {
			if (!options.amqpUrl) return true;
			try {
				const target = await open();
				if (options.declareQueues && !declared.has(routingKey)) {
					await target.assertQueue(routingKey, {
						durable: false,
						autoDelete: false,
					});
					await target.bindQueue(routingKey, options.exchange, routingKey);
					declared.add(routingKey);
				}
				target.publish(options.exchange, routingKey, Buffer.from(body, 'utf8'), {
					...PUBLISH_PROPERTIES,
				});
				await target.waitForConfirms();
				return true;
			} catch (error) {
				// oslo's driver logs and drops; the event row is still written by the caller.
				options.log(`notification not published on ${routingKey}: ${(error as Error).message}`);
				return false;
			}
		},
		async connected() {
			if (options.amqpUrl) await open();
		},
		async close() {
			closedByUs = true;
			clearTimeout(reconnectTimer);
			reconnectTimer = undefined;
			const current = connection;
			connection = undefined;
			channel = undefined;
			opening = undefined;
			if (current) await current.close().catch(() => undefined);
		},
	};
}
