/**
 * The broker port: what the consumer needs from an AMQP 0-9-1 client, and nothing more.
 * amqp.ts implements it with amqplib (the package's only import of it); tests can use either
 * the real broker through amqp.ts or a fake.
 */

export interface MessageProperties {
	contentType?: string;
	contentEncoding?: string;
	headers: Record<string, unknown>;
	deliveryMode?: number;
	priority?: number;
	messageId?: string;
	correlationId?: string;
	timestamp?: number;
	type?: string;
	appId?: string;
	/** Per-message TTL in milliseconds, as AMQP's decimal string (retry queues). */
	expiration?: string;
}

export interface BrokerMessage {
	body: Buffer;
	deliveryTag: number;
	redelivered: boolean;
	exchange: string;
	routingKey: string;
	properties: MessageProperties;
}

export interface QueueInfo {
	queue: string;
	messageCount: number;
	consumerCount: number;
}

export interface QueueOptions {
	durable: boolean;
	exclusive: boolean;
	autoDelete: boolean;
	/** x-arguments, e.g. x-dead-letter-exchange. */
	arguments?: Record<string, unknown>;
}

export type CloseListener = (error?: Error) => void;

export interface BrokerChannel {
	/** Passive declare: fails (and closes this channel) when the exchange does not exist. */
	checkExchange(name: string): Promise<void>;
	/** Declares a topic exchange exactly as oslo.messaging does: durable=false, auto_delete=false. */
	declareOsloExchange(name: string): Promise<void>;
	deleteExchange(name: string): Promise<void>;
	declareQueue(name: string, options: QueueOptions): Promise<QueueInfo>;
	/** Passive declare: fails (and closes this channel) when the queue does not exist. */
	checkQueue(name: string): Promise<QueueInfo>;
	bindQueue(queue: string, exchange: string, routingKey: string): Promise<void>;
	unbindQueue(queue: string, exchange: string, routingKey: string): Promise<void>;
	prefetch(count: number): Promise<void>;
	/** `onMessage(null)` means the broker cancelled the consumer (queue deleted, ...). */
	consume(queue: string, onMessage: (message: BrokerMessage | null) => void): Promise<string>;
	cancel(consumerTag: string): Promise<void>;
	ack(deliveryTag: number): void;
	nack(deliveryTag: number, requeue: boolean): void;
	/** Resolves once the broker confirmed the message (publisher confirms). */
	publish(
		exchange: string,
		routingKey: string,
		body: Buffer,
		properties: MessageProperties,
	): Promise<void>;
	/** Fetches one message (basic.get) without a consumer; false when the queue is empty. */
	get(queue: string): Promise<BrokerMessage | false>;
	close(): Promise<void>;
	onClose(listener: CloseListener): void;
}

export interface BrokerConnection {
	createChannel(): Promise<BrokerChannel>;
	close(): Promise<void>;
	/** Called once when the connection ends; with an error when the end was not asked for. */
	onClose(listener: CloseListener): void;
}

export type Connect = () => Promise<BrokerConnection>;
