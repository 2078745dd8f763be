/**
 * Proves the e2e machinery against n8n's own nodes (nothing of ours needed), then that n8n
 * loads everything this package registers.
 */
import fs from 'node:fs';
import path from 'node:path';
import type amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearWorkflow, nodeOutput, startN8n, type N8nInstance, type Workflow } from './harness';
import {
	connectBroker,
	declareQueue,
	rabbitmqCredentialData,
	uniqueName,
	waitForConsumer,
} from './rabbitmq';

const manualToCode = linearWorkflow('smoke: manual -> code', [
	{ name: 'Manual', type: 'n8n-nodes-base.manualTrigger' },
	{
		name: 'Code',
		type: 'n8n-nodes-base.code',
		typeVersion: 2,
		parameters: { jsCode: 'return [1, 2, 3].map((n) => ({ json: { n, square: n * n } }));' },
	},
]);

function rabbitToCode(queue: string, credentialName: string): Workflow {
	return linearWorkflow(`smoke: rabbitmq ${queue}`, [
		{
			name: 'RabbitMQ Trigger',
			type: 'n8n-nodes-base.rabbitmqTrigger',
			parameters: { queue, options: { jsonParseBody: true, onlyContent: true } },
			credentials: { rabbitmq: { name: credentialName } },
		},
		{
			name: 'Code',
			type: 'n8n-nodes-base.code',
			typeVersion: 2,
			parameters: {
				jsCode: "return $input.all().map((item) => ({ json: { ...item.json, seenBy: 'code' } }));",
			},
		},
	]);
}

describe('n8n e2e harness (regular mode)', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	const queues: string[] = [];

	beforeAll(async () => {
		broker = await connectBroker();
		n8n = await startN8n({ name: 'smoke' });
	});

	afterAll(async () => {
		await n8n?.stop();
		if (broker) {
			const channel = await broker.createChannel();
			for (const queue of queues) await channel.deleteQueue(queue);
			await broker.close();
		}
	});

	it('runs a Manual Trigger -> Code workflow with `n8n execute`', async () => {
		const id = await n8n.createWorkflow(manualToCode);
		const run = await n8n.execute(id);
		expect(run.exitCode, run.stdout + run.stderr).toBe(0);
		expect(nodeOutput(run.result!, 'Code')).toEqual([
			{ n: 1, square: 1 },
			{ n: 2, square: 4 },
			{ n: 3, square: 9 },
		]);
	});

	it('runs an activated RabbitMQ Trigger workflow for a published message', async () => {
		const queue = uniqueName('esi-leap-e2e-smoke');
		queues.push(queue);
		await declareQueue(broker, queue);
		const credential = await n8n.createCredential({
			name: 'Local RabbitMQ',
			type: 'rabbitmq',
			data: rabbitmqCredentialData(),
		});
		const id = await n8n.createWorkflow(rabbitToCode(queue, credential.name));
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker, queue);

		const channel = await broker.createChannel();
		channel.sendToQueue(queue, Buffer.from(JSON.stringify({ orderId: 42, queue })));
		await channel.close();

		const [execution] = await n8n.waitForExecutions(id, { count: 1 });
		expect(execution.status).toBe('success');
		expect(execution.mode).toBe('trigger');
		expect(nodeOutput(execution, 'Code')).toEqual([{ orderId: 42, queue, seenBy: 'code' }]);
	});

	it('tests a stored credential through the public API', async () => {
		const good = await n8n.createCredential({
			name: 'RabbitMQ ok',
			type: 'rabbitmq',
			data: rabbitmqCredentialData(),
		});
		const bad = await n8n.createCredential({
			name: 'RabbitMQ bad password',
			type: 'rabbitmq',
			data: { ...rabbitmqCredentialData(), password: 'not-the-password' },
		});
		expect(await n8n.testCredential(good.id)).toMatchObject({ status: 'OK' });
		expect(await n8n.testCredential(bad.id)).toMatchObject({ status: 'Error' });
	});

	it('loads every node and credential this package registers', async () => {
		const root = path.resolve(__dirname, '../..');
		const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
			name: string;
			n8n: { nodes: string[]; credentials: string[] };
		};
		expect(manifest.n8n.nodes.length + manifest.n8n.credentials.length).toBeGreaterThan(0);
		// n8n names a type after the exported class's description.name; read it from the built files.
		const describe = async (file: string) => {
			const exported = (await import(path.join(root, file))) as Record<string, unknown>;
			const Class = Object.values(exported).find(
				(value) => typeof value === 'function',
			) as new () => {
				name?: string;
				description?: { name: string; version: number | number[] };
			};
			return new Class();
		};
		for (const file of manifest.n8n.nodes) {
			const { description } = await describe(file);
			const version = ([] as number[]).concat(description!.version).at(-1);
			expect(
				await n8n.nodeType(`${manifest.name}.${description!.name}`, version),
				file,
			).toMatchObject({ name: description!.name });
		}
		for (const file of manifest.n8n.credentials) {
			const credential = await describe(file);
			expect(await n8n.hasCredentialType(credential.name!), file).toBe(true);
		}
	});

	it('accepts every example workflow: its node types and versions exist in this n8n', async () => {
		const folder = path.resolve(__dirname, '../../examples');
		const files = fs.readdirSync(folder).filter((file) => file.endsWith('.json'));
		expect(files.length).toBeGreaterThan(0);
		for (const file of files) {
			const example = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')) as Workflow & {
				nodes: Array<{ name: string; type: string; typeVersion: number; credentials?: unknown }>;
			};
			for (const node of example.nodes) {
				const known = await n8n.nodeType(node.type, node.typeVersion);
				expect(known, `${file}: ${node.name} (${node.type} v${node.typeVersion})`).toBeDefined();
			}
			// Imported as a user would (credentials are picked after import, so none are attached).
			const id = await n8n.api<{ id: string }>('POST', '/workflows', {
				name: example.name,
				nodes: example.nodes.map((node) => ({ ...node, credentials: undefined })),
				connections: example.connections,
				settings: example.settings ?? {},
			});
			const stored = await n8n.api<{ nodes: unknown[] }>('GET', `/workflows/${id.id}`);
			expect(stored.nodes, file).toHaveLength(example.nodes.length);
		}
	});
});
