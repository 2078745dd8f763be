import * as amqplib from 'amqplib';
import type { ConfirmChannel, ConsumeMessage, GetMessage, Options } from 'amqplib';

import type {
	BrokerChannel,
	BrokerConnection,
	BrokerMessage,
	CloseListener,
	MessageProperties,
} from './broker';

/** Everything the credential holds, already resolved (no n8n types here). */
export interface BrokerSettings {
	host: string;
	port: number;
	vhost: string;
	username: string;
	password: string;
	heartbeatSeconds: number;
	/** Undefined: plain AMQP. */
	tls?: {
		ca?: string;
		cert?: string;
		key?: string;
		passphrase?: string;
		/** Verification is on unless explicitly turned off. */
		rejectUnauthorized: boolean;
		servername?: string;
	};
	connectTimeoutMs?: number;
}

/** A log-safe label for the broker: never includes the user or the password. */
export function describeBroker(settings: BrokerSettings): string {
	return `${settings.tls ? 'amqps' : 'amqp'}://${settings.host}:${settings.port}/${encodeURIComponent(settings.vhost)}`;
}

export type BrokerConnectFailure = 'vhost' | 'login' | 'tls' | 'network' | 'other';

/** A failed connection attempt, saying in words what the broker or the network refused. */
export class BrokerConnectError extends Error {
	constructor(
		readonly kind: BrokerConnectFailure,
		message: string,
	) {
		super(message);
		this.name = 'BrokerConnectError';
	}
}

const TLS_TRUST =
	/certificate|self[- ]signed|unable to (get|verify)|CERT_|altname|DEPTH_ZERO|SSL|TLS|alert/i;

/**
 * amqplib's texts are protocol traces; the broker's reply text for a refused connection.open
 * does not even survive them ("Expected ConnectionOpenOk; got <ConnectionClose channel:0>").
 * RabbitMQ answers connection.open with a close only for the vhost: it does not exist, or the
 * user has no permissions on it (530 NOT_ALLOWED).
 */
export function describeConnectError(error: unknown, settings: BrokerSettings): BrokerConnectError {
	const text = error instanceof Error ? error.message : String(error);
	const code = (error as { code?: unknown } | null)?.code;
	if (/^Expected ConnectionOpenOk; got <ConnectionClose/.test(text)) {
		return new BrokerConnectError(
			'vhost',
			`RabbitMQ refused virtual host "${settings.vhost}": it does not exist, or this user has no permissions on it (530 NOT_ALLOWED)`,
		);
	}
	if (/ACCESS[-_]REFUSED/.test(text) && /Handshake terminated/.test(text)) {
		return new BrokerConnectError(
			'login',
			'RabbitMQ refused the login: wrong user name or password (403 ACCESS_REFUSED)',
		);
	}
	if (settings.tls && (TLS_TRUST.test(text) || /^ERR_(SSL|TLS)/.test(String(code ?? '')))) {
		return new BrokerConnectError(
			'tls',
			`TLS handshake with the broker failed: ${text}. Check Custom CA Certificate (the CA that signed the broker's certificate) and, for mutual TLS, Client Certificate and Client Key`,
		);
	}
	if (
		typeof code === 'string' &&
		/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET)$/.test(code)
	) {
		return new BrokerConnectError('network', `Cannot reach the broker (${code}): ${text}`);
	}
	return new BrokerConnectError('other', text);
}

function toMessage(message: ConsumeMessage | GetMessage): BrokerMessage {
	const { properties, fields } = message;
	return {
		body: message.content,
		deliveryTag: fields.deliveryTag,
		redelivered: fields.redelivered,
		exchange: fields.exchange,
		routingKey: fields.routingKey,
		properties: {
			contentType: properties.contentType ?? undefined,
			contentEncoding: properties.contentEncoding ?? undefined,
			headers: { ...(properties.headers ?? {}) },
			deliveryMode: properties.deliveryMode ?? undefined,
			priority: properties.priority ?? undefined,
			messageId: properties.messageId ?? undefined,
			correlationId: properties.correlationId ?? undefined,
			timestamp: properties.timestamp ?? undefined,
			type: properties.type ?? undefined,
			appId: properties.appId ?? undefined,
		},
	};
}

function toPublishOptions(properties: MessageProperties): Options.Publish {
	const options: Options.Publish = { headers: properties.headers };
	if (properties.contentType !== undefined) options.contentType = properties.contentType;
	if (properties.contentEncoding !== undefined)
		options.contentEncoding = properties.contentEncoding;
	if (properties.deliveryMode !== undefined) options.deliveryMode = properties.deliveryMode;
	if (properties.priority !== undefined) options.priority = properties.priority;
	if (properties.messageId !== undefined) options.messageId = properties.messageId;
	if (properties.correlationId !== undefined) options.correlationId = properties.correlationId;
	if (properties.timestamp !== undefined) options.timestamp = properties.timestamp;
	if (properties.type !== undefined) options.type = properties.type;
	if (properties.appId !== undefined) options.appId = properties.appId;
	if (properties.expiration !== undefined) options.expiration = properties.expiration;
	return options;
}

function onceClosed(emitter: { once(event: 'close', listener: (error?: Error) => void): unknown }) {
	const listeners: CloseListener[] = [];
	emitter.once('close', (error?: Error) => {
		for (const listener of listeners) listener(error);
	});
	return (listener: CloseListener) => {
		listeners.push(listener);
	};
}

function wrapChannel(channel: ConfirmChannel): BrokerChannel {
	// amqplib emits 'error' before 'close' on a channel failure; without a listener it would throw.
	channel.on('error', () => undefined);
	const onClose = onceClosed(channel);
	return {
		async checkExchange(name) {
			await channel.checkExchange(name);
		},
		async declareOsloExchange(name) {
			// oslo_messaging/_drivers/impl_rabbit.py Connection.notify_send: type 'topic',
			// durable=amqp_durable_queues, auto_delete=amqp_auto_delete (both default False);
			// the captures agree (fixtures/esi-leap-real/README.md: "type topic, not durable").
			await channel.assertExchange(name, 'topic', { durable: false, autoDelete: false });
		},
		async deleteExchange(name) {
			await channel.deleteExchange(name);
		},
		async declareQueue(name, options) {
			return await channel.assertQueue(name, options);
		},
		async checkQueue(name) {
			return await channel.checkQueue(name);
		},
		async bindQueue(queue, exchange, routingKey) {
			await channel.bindQueue(queue, exchange, routingKey);
		},
		async unbindQueue(queue, exchange, routingKey) {
			await channel.unbindQueue(queue, exchange, routingKey);
		},
		async prefetch(count) {
			await channel.prefetch(count);
		},
		async consume(queue, onMessage) {
			const { consumerTag } = await channel.consume(queue, (message) =>
				onMessage(message === null ? null : toMessage(message)),
			);
			return consumerTag;
		},
		async cancel(consumerTag) {
			await channel.cancel(consumerTag);
		},
		ack(deliveryTag) {
			channel.ack({ fields: { deliveryTag } } as ConsumeMessage);
		},
		nack(deliveryTag, requeue) {
			channel.nack({ fields: { deliveryTag } } as ConsumeMessage, false, requeue);
		},
		publish(exchange, routingKey, body, properties) {
			return new Promise<void>((resolve, reject) => {
				channel.publish(exchange, routingKey, body, toPublishOptions(properties), (error) =>
					error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
				);
			});
		},
		async get(queue) {
			const message = await channel.get(queue, { noAck: false });
			return message === false ? false : toMessage(message);
		},
		async close() {
			await channel.close();
		},
		onClose,
	};
}

/** Opens one connection. TLS verification stays on unless the settings turn it off. */
export async function connectAmqp(settings: BrokerSettings): Promise<BrokerConnection> {
	const url: Options.Connect = {
		protocol: settings.tls ? 'amqps' : 'amqp',
		hostname: settings.host,
		port: settings.port,
		username: settings.username,
		password: settings.password,
		vhost: settings.vhost,
		heartbeat: settings.heartbeatSeconds,
	};
	const socketOptions: Record<string, unknown> = {
		timeout: settings.connectTimeoutMs ?? 10_000,
	};
	if (settings.tls) {
		socketOptions.rejectUnauthorized = settings.tls.rejectUnauthorized;
		socketOptions.servername = settings.tls.servername ?? settings.host;
		if (settings.tls.ca) socketOptions.ca = [settings.tls.ca];
		if (settings.tls.cert) socketOptions.cert = settings.tls.cert;
		if (settings.tls.key) socketOptions.key = settings.tls.key;
		if (settings.tls.passphrase) socketOptions.passphrase = settings.tls.passphrase;
	}
	const connection = await amqplib.connect(url, socketOptions).catch((error: unknown) => {
		throw describeConnectError(error, settings);
	});
	connection.on('error', () => undefined);
	let closed = false;
	const onClose = onceClosed(connection);
	onClose(() => {
		closed = true;
	});
	return {
		async createChannel() {
			return wrapChannel(await connection.createConfirmChannel());
		},
		async close() {
			if (closed) return;
			closed = true;
			await connection.close();
		},
		onClose,
	};
}
