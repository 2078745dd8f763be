import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The byte-exact ESI Leap captures (see test/fixtures/esi-leap-real, copied from the shared set). */
export const REAL_FIXTURES = join(__dirname, '..', 'fixtures', 'esi-leap-real');

/** The parsed inner oslo message of a capture, as far as the tests read it. */
export interface CapturedMessage {
	message_id: string;
	event_type: string;
	priority: 'INFO' | 'ERROR';
	timestamp: string;
	payload: { 'esi_leap_object.data': CapturedLeaseData } & Record<string, unknown>;
	[key: string]: unknown;
}

export interface CapturedLeaseData {
	id: number;
	uuid: string;
	project_id: string;
	status: string;
	properties: Record<string, unknown>;
	start_time: string | null;
	end_time: string | null;
	fulfill_time: string | null;
	expire_time: string | null;
	node_uuid: string;
	node_name: string;
	node_provision_state: string;
	node_power_state: string;
	node_properties: Record<string, unknown>;
	[key: string]: unknown;
}

export interface AmqpCapture {
	/** File stem, e.g. `amqp-lease-fulfill-end`. */
	name: string;
	body: Buffer;
	/** The capture's metadata: exchange, routing key and every basic property as delivered. */
	amqp: {
		exchange: string;
		routing_key: string;
		properties: {
			content_type: string | null;
			content_encoding: string | null;
			headers: Record<string, unknown>;
			delivery_mode: number | null;
			priority: number | null;
		};
	};
	decoded: { envelope: Record<string, unknown>; 'oslo.message': CapturedMessage };
}

/** Every `amqp-*.body` with its `amqp-*.json`, in file-name order. */
export function loadAmqpCaptures(): AmqpCapture[] {
	return readdirSync(REAL_FIXTURES)
		.filter((file) => file.startsWith('amqp-') && file.endsWith('.body'))
		.sort()
		.map((file) => {
			const name = file.slice(0, -'.body'.length);
			const meta = JSON.parse(readFileSync(join(REAL_FIXTURES, `${name}.json`), 'utf8'));
			return {
				name,
				body: readFileSync(join(REAL_FIXTURES, file)),
				amqp: meta.amqp,
				decoded: meta.decoded_for_convenience,
			};
		});
}

export function loadCapture(name: string): AmqpCapture {
	const capture = loadAmqpCaptures().find((candidate) => candidate.name === name);
	if (!capture) throw new Error(`No capture named ${name}`);
	return capture;
}

export interface JsonlRecord {
	seq: number;
	exchange: string;
	routing_key: string;
	event_type: string;
	body: Buffer;
	body_sha256: string;
}

/** The full arrival-order streams `amqp-all-messages-run*.jsonl`. */
export function loadAmqpRuns(): { file: string; records: JsonlRecord[] }[] {
	return readdirSync(REAL_FIXTURES)
		.filter((file) => /^amqp-all-messages-run\d+\.jsonl$/.test(file))
		.sort()
		.map((file) => ({
			file,
			records: readFileSync(join(REAL_FIXTURES, file), 'utf8')
				.split('\n')
				.filter((line) => line.trim() !== '')
				.map((line) => {
					const record = JSON.parse(line);
					return { ...record, body: Buffer.from(record.body_base64, 'base64') };
				}),
		}));
}

/**
 * The same capture with another oslo message id (so a stream of captures has distinct ids).
 * Only the id's characters change; every other byte of the captured body is kept.
 */
export function withMessageId(capture: AmqpCapture, messageId: string): Buffer {
	const original = capture.decoded['oslo.message'].message_id;
	const text = capture.body.toString('utf8');
	const replaced = text.replace(
		`\\"message_id\\": \\"${original}\\"`,
		`\\"message_id\\": \\"${messageId}\\"`,
	);
	if (replaced === text) throw new Error(`${capture.name}: message_id not found in the body`);
	return Buffer.from(replaced, 'utf8');
}
