/** RabbitMQ helpers for e2e scenarios: the real broker at AMQP_URL, unique queue names. */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** n8n's built-in `rabbitmq` credential data pointing at AMQP_URL. */
export function rabbitmqCredentialData(url = AMQP_URL): Record<string, unknown> {
	const parsed = new URL(url);
	return {
		hostname: parsed.hostname,
		port: Number(parsed.port || 5672),
		username: decodeURIComponent(parsed.username),
		password: decodeURIComponent(parsed.password),
		vhost: decodeURIComponent(parsed.pathname.slice(1)) || '/',
		ssl: false,
	};
}

export function uniqueName(prefix: string): string {
	return `${prefix}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

export async function connectBroker(): Promise<amqp.ChannelModel> {
	let failure = '';
	const connection = await amqp.connect(AMQP_URL).catch((error: Error) => {
		failure = error.message;
		return undefined;
	});
	if (!connection)
		throw new Error(
			`RabbitMQ not reachable at ${AMQP_URL} (${failure}); start it with \`rabbitmq-server -detached\``,
		);
	return connection;
}

/** Waits until `queue` exists and has a consumer (checkQueue is exact, unlike the management stats). */
export async function waitForConsumer(
	connection: amqp.ChannelModel,
	queue: string,
	timeoutMs = 30_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		// A failed checkQueue closes its channel, so each probe gets a fresh one.
		const channel = await connection.createChannel();
		channel.on('error', () => undefined);
		try {
			const { consumerCount } = await channel.checkQueue(queue);
			await channel.close();
			if (consumerCount > 0) return;
		} catch {
			// queue not declared yet
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	throw new Error(`no consumer on queue ${queue} after ${timeoutMs} ms`);
}

/** Declares a durable queue (n8n's RabbitMQ Trigger only checks that its queue exists). */
export async function declareQueue(connection: amqp.ChannelModel, queue: string): Promise<void> {
	const channel = await connection.createChannel();
	await channel.assertQueue(queue, { durable: true });
	await channel.close();
}
