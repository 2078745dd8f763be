import { describe, expect, it } from 'vitest';

import {
	defaultQueueName,
	planTopology,
	prioritiesForEvents,
} from '../../../nodes/core/bus/topology';

const topic = 'esi_leap_versioned_notifications';

describe('prioritiesForEvents', () => {
	it('routes error events to .error and the others to .info', () => {
		expect(prioritiesForEvents(['fulfill.end', 'delete.end'])).toEqual(['info']);
		expect(prioritiesForEvents(['fulfill.error'])).toEqual(['error']);
		expect(prioritiesForEvents(['delete.start', 'delete.error'])).toEqual(['info', 'error']);
	});
});

describe('defaultQueueName', () => {
	it('depends only on workflow and node ids', () => {
		expect(defaultQueueName('wf1', 'node-a')).toBe(defaultQueueName('wf1', 'node-a'));
		expect(defaultQueueName('wf1', 'node-a')).not.toBe(defaultQueueName('wf1', 'node-b'));
		expect(defaultQueueName('wf1', 'node-a')).not.toBe(defaultQueueName('wf2', 'node-a'));
	});
});

describe('planTopology', () => {
	it('own queue: binds the chosen priorities, unbinds the other, dead-letters to <queue>.dead', () => {
		const plan = planTopology({
			exchange: 'openstack',
			topic,
			priorities: ['info'],
			queue: { kind: 'own', name: 'q' },
			exchangeMode: 'passive',
		});
		expect(plan.bindings).toEqual([`${topic}.info`]);
		expect(plan.unbindings).toEqual([`${topic}.error`]);
		expect(plan.deadLetterQueue).toBe('q.dead');
	});

	it('existing queue: never binds or unbinds; the dead-letter queue is editable', () => {
		const plan = planTopology({
			exchange: 'openstack',
			topic,
			priorities: ['info', 'error'],
			queue: { kind: 'existing', name: 'shared' },
			exchangeMode: 'passive',
			deadLetterQueue: ' my.dlq ',
		});
		expect(plan.bindings).toEqual([]);
		expect(plan.unbindings).toEqual([]);
		expect(plan.deadLetterQueue).toBe('my.dlq');
	});

	it('temporary queue: binds, but has no dead-letter queue', () => {
		const plan = planTopology({
			exchange: 'x',
			topic: 't',
			priorities: ['error'],
			queue: { kind: 'temporary' },
			exchangeMode: 'declare',
		});
		expect(plan.bindings).toEqual(['t.error']);
		expect(plan.unbindings).toEqual([]);
		expect(plan.deadLetterQueue).toBeNull();
	});
});
