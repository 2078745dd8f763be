/** Queue mode (main + one worker over Redis, PostgreSQL): the machinery for scaling scenarios. */
import type amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearWorkflow, nodeOutput, startN8n, type N8nInstance } from './harness';
import {
	connectBroker,
	declareQueue,
	rabbitmqCredentialData,
	uniqueName,
	waitForConsumer,
} from './rabbitmq';

describe('n8n e2e harness (queue mode)', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	const queue = uniqueName('esi-leap-e2e-queue');

	beforeAll(async () => {
		broker = await connectBroker();
		n8n = await startN8n({ name: 'queue', mode: 'queue' });
	});

	afterAll(async () => {
		await n8n?.stop();
		if (broker) {
			const channel = await broker.createChannel();
			await channel.deleteQueue(queue);
			await broker.close();
		}
	});

	it('runs a trigger execution on the worker', async () => {
		await declareQueue(broker, queue);
		const credential = await n8n.createCredential({
			name: 'Local RabbitMQ',
			type: 'rabbitmq',
			data: rabbitmqCredentialData(),
		});
		const id = await n8n.createWorkflow(
			linearWorkflow(`queue: rabbitmq ${queue}`, [
				{
					name: 'RabbitMQ Trigger',
					type: 'n8n-nodes-base.rabbitmqTrigger',
					parameters: { queue, options: { jsonParseBody: true, onlyContent: true } },
					credentials: { rabbitmq: { name: credential.name } },
				},
				{
					name: 'Code',
					type: 'n8n-nodes-base.code',
					typeVersion: 2,
					parameters: {
						jsCode:
							'return $input.all().map((item) => ({ json: { ...item.json, throughCode: true } }));',
					},
				},
			]),
		);
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker, queue);

		const channel = await broker.createChannel();
		channel.sendToQueue(queue, Buffer.from(JSON.stringify({ leaseId: 'l-1' })));
		await channel.close();

		const [execution] = await n8n.waitForExecutions(id, { count: 1 });
		expect(execution.status).toBe('success');
		expect(nodeOutput(execution, 'Code')).toEqual([{ leaseId: 'l-1', throughCode: true }]);
		// Which process ran it: only the worker logs that it finished the execution.
		expect(n8n.log('worker')).toContain(`Worker finished execution ${execution.id} `);
		expect(n8n.log('main')).not.toContain(`Worker finished execution ${execution.id} `);
	});
});
