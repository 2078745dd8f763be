import { randomUUID } from 'node:crypto';

import type { INode } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { createEsiLeapClient } from '../../../nodes/core/api/client';
import { EsiLeapError } from '../../../nodes/core/errors';
import { toNodeError } from '../../../nodes/shared/errors';
import { captureTransport } from '../../helpers/captures';

const node: INode = {
	id: '1',
	name: 'ESI Lease',
	type: 'n8n-nodes-esi-leap.esiLease',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

async function esiFailure(
	capture: string,
	run: (c: ReturnType<typeof createEsiLeapClient>) => Promise<unknown>,
) {
	const client = createEsiLeapClient(captureTransport([capture]).transport);
	return (await run(client).catch((e: unknown) => e)) as EsiLeapError;
}

describe('toNodeError', () => {
	it("turns ESI's 404 into a NodeApiError with ESI's message, code and item index", async () => {
		const error = await esiFailure('rest-29-error-404-lease-by-name', (c) =>
			c.getLease('no-such-lease'),
		);
		const nodeError = toNodeError(node, error, { itemIndex: 3 });
		expect(nodeError).toBeInstanceOf(NodeApiError);
		expect(nodeError.message).toBe('Lease with name or uuid no-such-lease not found.');
		expect((nodeError as NodeApiError).httpCode).toBe('404');
		expect(nodeError.context.itemIndex).toBe(3);
	});

	it("maps ESI's 500-for-unknown-UUID to the same clear not-found description", async () => {
		const error = await esiFailure('rest-31-error-500-unknown-lease-uuid', (c) =>
			c.getLease('b32423aa-0624-488e-a151-430815863af0'),
		);
		const nodeError = toNodeError(node, error);
		expect(nodeError.description).toContain('no such object');
		expect((nodeError as NodeApiError).httpCode).toBe('500');
	});

	it('names the role a 403 needs when the operation says so', async () => {
		const error = await esiFailure('rest-35-error-403-lessee-update-lease', (c) =>
			c.updateLeaseEndTime('7a6e4a7f-ff51-4a70-8c5c-5477be771f5c', '2026-11-24T18:32:35Z'),
		);
		const nodeError = toNodeError(node, error, {
			requiredRole: 'the admin role (esi_leap:lease:update)',
		});
		expect(nodeError.message).toBe(
			'Access was denied to lease 7a6e4a7f-ff51-4a70-8c5c-5477be771f5c.',
		);
		expect(nodeError.description).toContain('needs the admin role (esi_leap:lease:update)');
		expect(toNodeError(node, error).description).toContain('ESI Leap policy');
	});

	it('turns invalid input into a NodeOperationError naming the field', async () => {
		const client = createEsiLeapClient(captureTransport([]).transport);
		const error = (await client.claimOffer('by-name').catch((e: unknown) => e)) as EsiLeapError;
		const nodeError = toNodeError(node, error, { itemIndex: 1 });
		expect(nodeError).toBeInstanceOf(NodeOperationError);
		expect(nodeError.message).toContain('offerId');
		expect(nodeError.description).toBe('Check the "offerId" field.');
		expect(nodeError.context.itemIndex).toBe(1);
	});

	it('never lets a secret through', () => {
		const secret = `s-${randomUUID()}`;
		const leaky = new EsiLeapError(
			'server',
			`boom X-Auth-Token: gAAAAA${'y'.repeat(30)} ${secret}`,
			{
				status: 500,
				esiMessage: `failed for password=${secret}`,
			},
		);
		const nodeError = toNodeError(node, leaky, { secrets: [secret] });
		const visible = `${nodeError.message} ${nodeError.description ?? ''} ${JSON.stringify(nodeError.messages)}`;
		expect(visible).not.toContain(secret);
		expect(visible).not.toContain('gAAAAA');
		const plain = toNodeError(node, new Error(`connect failed ${secret}`), { secrets: [secret] });
		expect(plain.message).toBe('connect failed ***');
	});

	it('passes n8n errors through unchanged', () => {
		const original = new NodeOperationError(node, 'already mapped');
		expect(toNodeError(node, original)).toBe(original);
	});
});
