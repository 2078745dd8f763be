import { describe, expect, it } from 'vitest';

import { EsiLease } from '../../nodes/EsiLease/EsiLease.node';
import { createExecuteContext, createLoadOptionsContext } from './executeContext';
import { createN8nHttp } from './n8nHttp';
import { createFakeTrigger } from './triggerContext';

/** The fake contexts read parameters through the node's real description (nodeParameters.ts). */

const historyTrigger = (parameters: Record<string, unknown>) =>
	createFakeTrigger({ parameters: { mode: 'eventHistory', ...parameters } }).context;

describe('fake trigger context: parameters through the ESI Leap Trigger description', () => {
	it('fills in the description defaults of what is shown, as n8n does on workflow load', () => {
		const context = historyTrigger({});
		expect(context.getNodeParameter('startFrom')).toBe('now');
		expect(context.getNodeParameter('pollIntervalSeconds')).toBe(30);
		expect(context.getNodeParameter('events')).toEqual(['fulfill.end', 'delete.end']);
		// Shown only with Start From = After Event ID: absent, so the node's fallback applies.
		expect(() => context.getNodeParameter('startEventId')).toThrow(
			'Could not get parameter "startEventId"',
		);
		const afterId = historyTrigger({ startFrom: 'afterEventId' });
		expect(afterId.getNodeParameter('startEventId')).toBe(0);
		// The bus defaults are not there in history mode.
		expect(afterId.getNodeParameter('acknowledge', 'fallback')).toBe('fallback');
	});

	it('throws on a name the description does not have, with or without a fallback', () => {
		const context = historyTrigger({});
		expect(() => context.getNodeParameter('eventId', 0)).toThrow(/no parameter "eventId"/);
		expect(() => context.getNodeParameter('options.maxEvents', 5)).toThrow(
			/no parameter "options.maxEvents"/,
		);
		expect(() => context.getNodeParameter('payloadFilters.rows', [])).toThrow(/no parameter/);
		expect(context.getNodeParameter('payloadFilters.filter', [])).toEqual([]);
	});

	it('rejects a parameter that is unknown or hidden for the settings', () => {
		expect(() => historyTrigger({ eventId: 5 })).toThrow(
			'eventId: no such parameter for these settings',
		);
		expect(() => historyTrigger({ startEventId: 5 })).toThrow(
			'startEventId: no such parameter for these settings',
		);
		expect(() => historyTrigger({ options: { prefetch: 5 } })).toThrow(
			'options.prefetch: no such parameter for these settings',
		);
		expect(() =>
			createFakeTrigger({ parameters: { queueSource: 'existing', queueName: 'q' } }),
		).toThrow('queueName: no such parameter for these settings');
	});

	it('rejects a value of the wrong type', () => {
		expect(() => historyTrigger({ pollIntervalSeconds: '30' })).toThrow(
			'pollIntervalSeconds: expected a number',
		);
		expect(() => historyTrigger({ includeLeaseDetails: 'yes' })).toThrow(
			'includeLeaseDetails: expected true or false',
		);
		expect(() => historyTrigger({ startFrom: 'yesterday' })).toThrow(
			'startFrom: "yesterday" is not one of now, afterEventId, beginning',
		);
		expect(() => historyTrigger({ events: ['lease.expired'] })).toThrow(
			'events: "lease.expired" is not one of',
		);
		expect(() => historyTrigger({ payloadFilters: { filter: { path: 'x' } } })).toThrow(
			'payloadFilters.filter: expected a list',
		);
		expect(() =>
			historyTrigger({ payloadFilters: { filter: [{ path: 'x', operator: 'like' }] } }),
		).toThrow('payloadFilters.filter[0].operator: "like" is not one of');
		// An expression stands for any type, except where the field takes none.
		expect(() => historyTrigger({ pollIntervalSeconds: '={{ 5 }}' })).not.toThrow();
		expect(() => historyTrigger({ startFrom: '={{ "now" }}' })).toThrow(
			'startFrom: does not take an expression',
		);
	});

	it('throws when an option is read with a fallback other than the default the editor shows', () => {
		const context = historyTrigger({});
		expect(context.getNodeParameter('options.maxEventsPerPoll', 1000)).toBe(1000);
		expect(() => context.getNodeParameter('options.maxEventsPerPoll', 500)).toThrow(
			/fallback 500, but the editor shows its default as 1000/,
		);
		expect(
			historyTrigger({ options: { maxEventsPerPoll: 7 } }).getNodeParameter(
				'options.maxEventsPerPoll',
				500,
			),
		).toBe(7);
	});
});

describe('fake execute and load-options contexts: parameters through the ESI Lease description', () => {
	const http = createN8nHttp({});
	const nodeType = new EsiLease();

	it('rejects an unknown or hidden parameter and a wrong type', () => {
		expect(() =>
			createExecuteContext({
				nodeType,
				parameters: { resource: 'lease', operation: 'get', leaseUuid: 'x' },
				http,
			}),
		).toThrow('leaseUuid: no such parameter for these settings');
		expect(() =>
			createExecuteContext({
				nodeType,
				parameters: { resource: 'lease', operation: 'getAll', returnAll: 'true' },
				http,
			}),
		).toThrow('returnAll: expected true or false');
		expect(() =>
			createExecuteContext({
				nodeType,
				parameters: { resource: 'lease', operation: 'get', leaseId: { mode: 'uuid', value: 'x' } },
				http,
			}),
		).toThrow('leaseId: mode "uuid" is not one of');
	});

	it('throws on reading a name the description does not have', () => {
		const { context } = createExecuteContext({
			nodeType,
			parameters: { resource: 'lease', operation: 'getAll' },
			http,
		});
		expect(context.getNodeParameter('returnAll', 0)).toBe(false);
		expect(() => context.getNodeParameter('returnEverything', 0, false)).toThrow(
			/no parameter "returnEverything"/,
		);
		const load = createLoadOptionsContext(
			nodeType,
			{ resource: 'lease', operation: 'getAll' },
			http,
		);
		expect(() => load.getNodeParameter('returnEverything', false)).toThrow(/no parameter/);
	});
});
