import { describe, expect, it } from 'vitest';

import type { BrokerChannel } from '../../../nodes/core/bus/broker';
import {
	applyTopology,
	ExchangeConflictError,
	planTopology,
} from '../../../nodes/core/bus/topology';

/**
 * applyTopology on a scripted channel: the broker's answers are what RabbitMQ sends (404 on a
 * passive check of a missing exchange, 406 on an inequivalent declare), each closing the channel.
 */
function scriptedBroker(answers: {
	exchangeExists: boolean;
	declare?: Error;
	markerExists?: boolean;
}) {
	const calls: string[] = [];
	let opened = 0;
	const open = async (): Promise<BrokerChannel> => {
		const id = ++opened;
		const log = (what: string) => calls.push(`#${id} ${what}`);
		return {
			checkExchange: async (name) => {
				log(`check ${name}`);
				const exists = name.endsWith('.alive') ? answers.markerExists : answers.exchangeExists;
				if (!exists)
					throw Object.assign(new Error(`NOT_FOUND - no exchange '${name}'`), { code: 404 });
			},
			declareOsloExchange: async (name) => {
				log(`declare ${name}`);
				if (!name.endsWith('.alive') && answers.declare) throw answers.declare;
			},
			deleteExchange: async () => undefined,
			declareQueue: async (name) => {
				log(`queue ${name}`);
				return { queue: name, messageCount: 0, consumerCount: 0 };
			},
			checkQueue: async (name) => ({ queue: name, messageCount: 0, consumerCount: 0 }),
			bindQueue: async (queue, exchange, key) => void log(`bind ${key}`),
			unbindQueue: async () => undefined,
			prefetch: async () => undefined,
			consume: async () => 'tag',
			cancel: async () => undefined,
			ack: () => undefined,
			nack: () => undefined,
			publish: async () => undefined,
			get: async () => false,
			close: async () => void log('close'),
			onClose: () => undefined,
		};
	};
	return { open, calls };
}

const topology = planTopology({
	exchange: 'openstack',
	topic: 'esi_leap_versioned_notifications',
	priorities: ['info', 'error'],
	queue: { kind: 'own', name: 'n8n-esi-leap.wf.node' },
	exchangeMode: 'passive',
});
const reconnect = { declareMissingExchange: true, checkMarker: true };

describe('applyTopology on reconnect', () => {
	it('a missing exchange is declared as oslo does on a fresh channel, then bound', async () => {
		const broker = scriptedBroker({ exchangeExists: false, markerExists: false });
		const applied = await applyTopology(broker.open, topology, reconnect);
		expect(applied.exchangeDeclared).toBe(true);
		expect(applied.markerLost).toBe(true);
		expect(
			broker.calls.filter((call) => call.includes('openstack') || call.includes('bind')),
		).toEqual([
			'#2 check openstack',
			'#3 declare openstack',
			'#3 bind esi_leap_versioned_notifications.info',
			'#3 bind esi_leap_versioned_notifications.error',
		]);
	});

	it('ESI was faster: the exchange exists, but the missing marker still tells the bindings were gone', async () => {
		const broker = scriptedBroker({ exchangeExists: true, markerExists: false });
		const applied = await applyTopology(broker.open, topology, reconnect);
		expect(applied).toMatchObject({ exchangeDeclared: false, markerLost: true });
	});

	it('no restart: marker and exchange there, nothing declared but the marker', async () => {
		const broker = scriptedBroker({ exchangeExists: true, markerExists: true });
		const applied = await applyTopology(broker.open, topology, reconnect);
		expect(applied).toMatchObject({ exchangeDeclared: false, markerLost: false });
		expect(broker.calls).not.toContain('#1 declare openstack');
	});

	it('a conflicting declare (406) is reported as such, naming oslo arguments', async () => {
		const broker = scriptedBroker({
			exchangeExists: false,
			markerExists: true,
			declare: Object.assign(
				new Error("PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'openstack'"),
				{ code: 406 },
			),
		});
		const failed = await applyTopology(broker.open, topology, reconnect).catch((error) => error);
		expect(failed).toBeInstanceOf(ExchangeConflictError);
		expect((failed as Error).message).toBe(
			'Exchange "openstack" exists with other arguments than oslo.messaging declares (topic, durable=false, auto_delete=false), so it was left as it is: ' +
				"PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'openstack'",
		);
	});

	it('first connection in passive mode: a missing exchange fails, nothing is declared', async () => {
		const broker = scriptedBroker({ exchangeExists: false, markerExists: true });
		await expect(applyTopology(broker.open, topology)).rejects.toThrow(/NOT_FOUND/);
		expect(broker.calls.some((call) => call.endsWith('declare openstack'))).toBe(false);
	});
});
