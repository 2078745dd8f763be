/**
 * The multi-main hand-over (README "Scaling → Multi-main"). A real multi-main n8n needs the
 * Enterprise license feature `feat:multipleMainInstances`, which this machine does not have, so
 * the two mains are two fake trigger contexts of the same workflow and node sharing what two mains
 * share: the broker, ESI Leap, the saved static data and the executions table (its stored
 * deduplication keys). As n8n does (n8n/conventions.md §3.10), the new leader activates the
 * trigger with activation mode `leadershipChange` while the old one still runs, and then the old
 * one closes its trigger. The old leader's executions keep running meanwhile: a graceful hand-over
 * does not stop the process.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../emulator';
import {
	closeOsloTestBed,
	openOsloTestBed,
	BusTriggers,
	type OsloTestBed,
} from '../helpers/busTestBed';
import { loadCapture, withMessageId } from '../helpers/fixtures';
import { createHistoryTrigger, waitForPolls, type HistoryTrigger } from '../helpers/historyTrigger';
import { messageCount, publishCapture, uniqueName, waitFor } from '../helpers/rabbit';
import type { Emission, FakeTrigger } from '../helpers/triggerContext';

const messageId = (emission: Emission) => String(emission.json.message_id);
const executed = (fake: FakeTrigger) => fake.emissions.filter((e) => e.fate === 'executed');

describe('multi-main hand-over, Message Bus (real broker)', () => {
	let bed: OsloTestBed;
	const triggers = new BusTriggers();
	const workflowId = uniqueName('wf-handover');
	// The trigger's default queue name, the same on every main: n8n-esi-leap.<workflow>.<node>.
	const queue = `n8n-esi-leap.${workflowId}.node-1`;

	beforeAll(async () => {
		bed = await openOsloTestBed({ exchange: 'openstack.handover', queue: 'unused' });
	});

	afterAll(async () => {
		await triggers.closeAll();
		await closeOsloTestBed(bed, [queue, `${queue}.dead`]);
	});

	it('the new leader takes the queue over; each message runs once across both mains', async () => {
		const capture = loadCapture('amqp-lease-fulfill-end');
		const publish = (count: number) => {
			const ids = Array.from({ length: count }, () => randomUUID());
			for (const id of ids)
				publishCapture(bed.channel, bed.exchange, capture, withMessageId(capture, id));
			return ids;
		};
		const keys = new Set<string>(); // the executions table both mains share
		const parameters = {
			mode: 'messageBus',
			queueName: '',
			events: ['fulfill.end'],
			options: { prefetch: 10, closeTimeoutSeconds: 0.5 },
		};
		// The old leader's executions are slow: none finishes before the hand-over is over.
		const oldLeader = await triggers.activate(bed, parameters, {
			workflowId,
			activationMode: 'init',
			deduplicationKeys: keys,
			execute: () => 'hang',
		});
		const before = publish(3);
		await waitFor(() => oldLeader.emissions.length === 3, 'the old leader running 3 executions');

		const newLeader = await triggers.activate(bed, parameters, {
			workflowId,
			activationMode: 'leadershipChange',
			deduplicationKeys: keys,
		});
		// Both consume the same durable queue for a moment: RabbitMQ gives each message to one.
		const during = publish(6);
		await waitFor(
			() => oldLeader.emissions.length + newLeader.emissions.length === 9,
			'the 6 messages published while both consume',
		);
		const takenByOld = oldLeader.emissions.map(messageId);
		const takenByNew = newLeader.emissions.map(messageId);
		expect([...takenByOld, ...takenByNew].sort()).toEqual([...before, ...during].sort());
		expect(takenByNew.length).toBeGreaterThan(0);
		expect(takenByOld.length).toBeGreaterThan(3);

		// The old leader closes its trigger; its unacknowledged messages go to the new leader with
		// the same deduplication keys, so n8n skips them: their executions are still running.
		await triggers.deactivate(oldLeader);
		await waitFor(
			() => newLeader.emissions.length === takenByNew.length + takenByOld.length,
			"the old leader's unacknowledged messages redelivered to the new one",
		);
		// The restart marker both share stays: the new leader still consumes.
		await bed.channel.checkExchange(`${queue}.alive`);
		const redelivered = newLeader.emissions.slice(takenByNew.length);
		expect(redelivered.map(messageId).sort()).toEqual([...takenByOld].sort());
		expect(redelivered.map((e) => e.fate)).toEqual(Array(takenByOld.length).fill('duplicate'));
		expect(redelivered.map((e) => e.deduplicationKey).sort()).toEqual(
			oldLeader.emissions.map((e) => e.deduplicationKey).sort(),
		);

		// After the hand-over the new leader alone gets what ESI publishes.
		const after = publish(2);
		await waitFor(
			() => executed(newLeader).length === takenByNew.length + 2,
			'2 messages after the hand-over',
		);
		oldLeader.releaseHanging(); // finishing late, on a closed channel: nothing to acknowledge
		await triggers.deactivate(newLeader);
		expect(await messageCount(bed.channel, queue)).toBe(0);
		// The last consumer's deactivation removes it.
		const probe = await bed.connection.createChannel();
		probe.on('error', () => undefined);
		await expect(probe.checkExchange(`${queue}.alive`)).rejects.toThrow(/NOT_FOUND/);

		const ran = [...executed(oldLeader), ...executed(newLeader)].map(messageId).sort();
		expect(ran).toEqual([...before, ...during, ...after].sort());
	});
});

describe('multi-main hand-over, Event History (emulator)', () => {
	let emulator: Emulator;
	const started: HistoryTrigger[] = [];

	beforeAll(async () => {
		emulator = await startEmulator({ tickIntervalMs: 0 });
	});

	afterEach(async () => {
		for (const trigger of started.splice(0)) await trigger.close();
	});

	afterAll(async () => {
		await emulator.stop();
	});

	it('the new leader continues from the saved cursor; an overlap runs no event twice', async () => {
		const keys = new Set<string>();
		const parameters = { pollIntervalSeconds: 0.02, startFrom: 'now', events: ['fulfill.end'] };
		const seed = (count: number) => {
			const { firstId, lastId } = emulator.control.seedEvents(count, {
				eventType: 'esi_leap.lease.fulfill.end',
			});
			return Array.from({ length: lastId - firstId + 1 }, (_, index) => firstId + index);
		};
		const oldLeader = createHistoryTrigger({
			emulator,
			parameters,
			activationMode: 'init',
			deduplicationKeys: keys,
		});
		started.push(oldLeader);
		await oldLeader.activate();
		const before = seed(3);
		await waitFor(() => oldLeader.emittedIds().length === 3, 'the old leader emitting 3 events');
		// The new leader loads the static data saved at this point; the old one runs two more
		// events before the hand-over, which that saved cursor does not cover yet.
		const savedAtHandOver = oldLeader.saved();
		const gap = seed(2);
		await waitFor(() => oldLeader.emittedIds().length === 5, 'the old leader emitting 2 more');

		const newLeader = createHistoryTrigger({
			emulator,
			parameters,
			savedStaticData: savedAtHandOver,
			activationMode: 'leadershipChange',
			deduplicationKeys: keys,
		});
		started.push(newLeader);
		await newLeader.activate();
		// Both poll for a while.
		const during = seed(4);
		await waitFor(
			() => oldLeader.emittedIds().length === 9 && newLeader.emittedIds().length === 6,
			'both mains emitting the events after the saved cursor',
		);
		// The new leader continues from the saved cursor (not from "now"): it emits the two events
		// after it too, never the ones before. Whatever both emitted has the same key, so n8n runs it
		// once: the gap's second emissions are refused as duplicates.
		expect(newLeader.emittedIds()).toEqual([...gap, ...during]);
		const keyOf = (trigger: HistoryTrigger, id: number) =>
			trigger.fake.emissions.find((emission) => Number(emission.json.event_id) === id)
				?.deduplicationKey;
		for (const id of [...gap, ...during])
			expect(keyOf(newLeader, id), `event ${id}`).toBe(keyOf(oldLeader, id));
		expect(newLeader.fake.emissions.slice(0, 2).map((emission) => emission.fate)).toEqual([
			'duplicate',
			'duplicate',
		]);

		await oldLeader.close();
		started.splice(started.indexOf(oldLeader), 1);
		const after = seed(2);
		await waitFor(() => newLeader.emittedIds().length === 8, 'the new leader alone, 2 events');
		await waitForPolls(emulator, 2);
		expect(oldLeader.emittedIds()).toEqual([...before, ...gap, ...during]);

		const ran = [...executed(oldLeader.fake), ...executed(newLeader.fake)]
			.map((emission) => Number(emission.json.event_id))
			.sort((a, b) => a - b);
		expect(ran).toEqual([...before, ...gap, ...during, ...after]);
	});
});
