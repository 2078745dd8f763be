import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { EsiLeapTrigger } from '../../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { createFakeTrigger } from '../../helpers/triggerContext';

const node = new EsiLeapTrigger();
// Port 1 is never a broker: any test here that reached the network would fail differently.
const unreachable = {
	esiLeapMessageBusApi: { host: '127.0.0.1', port: 1, username: 'u', password: 'p' },
};

async function activationError(parameters: IDataObject): Promise<NodeOperationError> {
	const fake = createFakeTrigger({ parameters, credentials: unreachable });
	const result = await node.trigger.call(fake.context).then(
		() => undefined,
		(error: Error) => error,
	);
	expect(result).toBeInstanceOf(NodeOperationError);
	return result as NodeOperationError;
}

function property(name: string): INodeProperties {
	const found = node.description.properties.find((candidate) => candidate.name === name);
	if (!found) throw new Error(`no property ${name}`);
	return found;
}

describe('EsiLeapTrigger description', () => {
	it('offers both modes, message bus first, and shares events and filters between them', () => {
		expect(property('mode').default).toBe('messageBus');
		expect(
			(property('mode').options as Array<{ value: string }>).map((option) => option.value),
		).toEqual(['messageBus', 'eventHistory']);
		// One Events list per mode: ESI's six on the bus, plus the five watch events in history mode.
		const lists = node.description.properties.filter((candidate) => candidate.name === 'events');
		expect(lists.map((list) => list.displayOptions)).toEqual([
			{ hide: { mode: ['eventHistory'] } },
			{ show: { mode: ['eventHistory'] } },
		]);
		expect(lists.map((list) => list.default)).toEqual([
			['fulfill.end', 'delete.end'],
			['fulfill.end', 'delete.end'],
		]);
		const values = (list: INodeProperties) =>
			(list.options as Array<{ value: string }>).map((option) => option.value);
		expect(values(lists[0])).toHaveLength(6);
		expect(values(lists[1])).toEqual([
			...values(lists[0]),
			'lease.created',
			'lease.end_time_changed',
			'lease.ending_soon',
			'offer.available',
			'offer.gone',
		]);
		expect(property('payloadFilters').displayOptions).toBeUndefined();
	});

	it('uses the bus credential only in message-bus mode, tested by the node', () => {
		const credentials = node.description.credentials ?? [];
		expect(credentials.find((c) => c.name === 'esiLeapMessageBusApi')).toMatchObject({
			testedBy: 'esiLeapMessageBusApiTest',
			displayOptions: { show: { mode: ['messageBus'] } },
		});
		// One esiLeapApi entry (n8n takes the first of a type): hidden only in Message Bus mode
		// without reconciliation; reconcileParameters.test.ts checks where n8n finds it.
		expect(credentials.filter((c) => c.name === 'esiLeapApi')).toHaveLength(1);
		expect(credentials.find((c) => c.name === 'esiLeapApi')?.displayOptions).toEqual({
			hide: { reconcileWithHistory: [false] },
		});
		expect(typeof node.methods.credentialTest.esiLeapMessageBusApiTest).toBe('function');
	});
});

describe('EsiLeapTrigger parameter errors name the field (before any connection)', () => {
	it('no event selected', async () => {
		expect((await activationError({ events: [] })).message).toMatch(/^Events:/);
	});

	it('an invalid regex names the filter', async () => {
		const error = await activationError({
			payloadFilters: { filter: [{ path: 'lease.name', operator: 'regex', value: '([' }] },
		});
		expect(error.message).toMatch(/Payload Filters: Filter 1: invalid regular expression/);
	});

	it('prefetch, retries and timeouts', async () => {
		expect((await activationError({ options: { prefetch: 0 } })).message).toMatch(/Prefetch/);
		expect((await activationError({ options: { maxRetries: 1.5 } })).message).toMatch(/Retries/);
		expect((await activationError({ options: { ackTimeoutMinutes: -1 } })).message).toMatch(
			/Ack Timeout/,
		);
		expect((await activationError({ options: { exchange: '  ' } })).message).toMatch(/Exchange/);
	});

	it('batch size and wait, in both modes where they are shown', async () => {
		const batches = { executionPer: 'batch' };
		expect((await activationError({ ...batches, batchSize: 0 })).message).toMatch(/^Batch Size/);
		expect((await activationError({ ...batches, batchSize: 2.5 })).message).toMatch(/^Batch Size/);
		expect((await activationError({ ...batches, batchMaxWaitMs: 0 })).message).toMatch(
			/^Max Batch Wait \(Milliseconds\)/,
		);
		expect(
			(await activationError({ mode: 'eventHistory', ...batches, batchSize: 0 })).message,
		).toMatch(/^Batch Size/);
	});

	it('"Executions" is one choice shown in both modes; the batch wait only where events trickle in', () => {
		expect(property('executionPer').displayOptions).toBeUndefined();
		expect(
			(property('executionPer').options as Array<{ value: string }>).map((option) => option.value),
		).toEqual(['event', 'batch']);
		expect(property('batchSize').displayOptions).toEqual({ show: { executionPer: ['batch'] } });
		expect(property('batchMaxWaitMs').displayOptions).toEqual({
			show: { mode: ['messageBus'], executionPer: ['batch'] },
		});
	});

	it('an existing queue without a name', async () => {
		expect((await activationError({ queueSource: 'existing', existingQueue: '' })).message).toMatch(
			/Queue Name/,
		);
	});

	it('an unreachable broker fails activation with a message that names the broker, not the password', async () => {
		const error = await activationError({});
		expect(error.message).toBe('Could not subscribe to amqp://127.0.0.1:1/%2F');
		expect(error.description).toMatch(/ECONNREFUSED/);
		expect(`${error.message} ${error.description}`).not.toMatch(/\bu:p\b|:p@/);
	});
});
