import type { INode, INodeParameters } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import type { EsiLeapEvent } from '../../../nodes/core/events/types';
import { EsiLeapTrigger } from '../../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { deduplicationKey } from '../../../nodes/EsiLeapTrigger/modes/messageBus';

const description = new EsiLeapTrigger().description;

function node(parameters: INodeParameters): INode {
	const base: INode = {
		id: 'n',
		name: 'ESI Leap Trigger',
		type: 'n8n-nodes-esi-leap.esiLeapTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters,
	};
	// With defaults filled in, as the editor and n8n's backend evaluate displayOptions.
	base.parameters = NodeHelpers.getNodeParameters(
		description.properties,
		parameters,
		true,
		false,
		base,
		description,
	) as INodeParameters;
	return base;
}

const activeCredentials = (parameters: INodeParameters) =>
	[...(NodeHelpers.getActiveCredentialTypes(node(parameters), description) ?? [])].sort();

describe('Reconcile With Event History: which credentials the trigger uses', () => {
	it('Message Bus alone needs only the bus credential', () => {
		expect(activeCredentials({ mode: 'messageBus' })).toEqual(['esiLeapMessageBusApi']);
	});

	it('Message Bus with reconciliation also needs the ESI Leap API login, required', () => {
		expect(activeCredentials({ mode: 'messageBus', reconcileWithHistory: true })).toEqual([
			'esiLeapApi',
			'esiLeapMessageBusApi',
		]);
		const shown = (description.credentials ?? []).filter((credential) =>
			NodeHelpers.displayParameter(
				node({ mode: 'messageBus', reconcileWithHistory: true }).parameters,
				credential,
				null,
				description,
			),
		);
		expect(shown.find((credential) => credential.name === 'esiLeapApi')?.required).toBe(true);
	});

	it("n8n's credential lookup (the first description of the type) finds the login displayed where it is used", () => {
		// As n8n-core's _getCredentials in 2.41.1: description.credentials.find(by name), then
		// displayParameter; a second entry of the same type is never consulted.
		const lookedUp = (parameters: INodeParameters) => {
			const credential = (description.credentials ?? []).find((c) => c.name === 'esiLeapApi')!;
			return NodeHelpers.displayParameter(
				node(parameters).parameters,
				credential,
				null,
				description,
			);
		};
		expect(lookedUp({ mode: 'messageBus', reconcileWithHistory: true })).toBe(true);
		expect(lookedUp({ mode: 'eventHistory' })).toBe(true);
		expect(lookedUp({ mode: 'messageBus' })).toBe(false);
	});

	it('Event History mode is unchanged (its login, not the bus)', () => {
		expect(activeCredentials({ mode: 'eventHistory' })).toEqual(['esiLeapApi']);
		expect(activeCredentials({ mode: 'eventHistory', reconcileWithHistory: true })).toEqual([
			'esiLeapApi',
		]);
	});
});

describe('deduplication key across channels', () => {
	const item = (fields: Partial<EsiLeapEvent>) => fields as EsiLeapEvent;

	it('a history item is keyed by its event id, as Event History mode keys it; a bus item by its message id', () => {
		expect(
			deduplicationKey('wf:node:', item({ source: 'history', event_id: 42, message_id: null }), 0),
		).toBe('wf:node:42');
		expect(
			deduplicationKey('wf:node:', item({ source: 'bus', event_id: null, message_id: 'm-1' }), 0),
		).toBe('wf:node:m-1');
		expect(
			deduplicationKey('wf:node:', item({ source: 'bus', event_id: null, message_id: 'm-1' }), 2),
		).toBe('wf:node:m-1:retry-2');
	});
});
