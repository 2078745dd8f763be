import { describe, expect, it } from 'vitest';

import type { ReconnectReport } from '../../../nodes/core/bus/consumer';
import { reconnectNotice } from '../../../nodes/core/bus/reconnectNotice';

const report: ReconnectReport = {
	outageStart: Date.parse('2026-12-01T10:00:00.000Z'),
	outageEnd: Date.parse('2026-12-01T10:00:21.500Z'),
	attempts: 24,
	exchangeRecreated: true,
	bindingsLost: true,
	queue: 'n8n-esi-leap.wf.node',
};

describe('reconnectNotice', () => {
	it('names the window in UTC and how to turn reconciliation on', () => {
		const notice = reconnectNotice(report, { exchange: 'openstack', reconciliation: false });
		expect(notice.message).toBe(
			'ESI Leap notifications published between 2026-12-01T10:00:00.000Z and 2026-12-01T10:00:21.500Z may be lost',
		);
		expect(notice.description).toContain('exchange "openstack" was gone');
		expect(notice.description).toContain(
			'Turn on reconciliation (Reconcile With Event History, with an ESI Leap API credential',
		);
		expect(notice.recoveredByReconciliation).toBe(false);
	});

	it('with reconciliation on it says reconciliation recovers them instead', () => {
		const notice = reconnectNotice(
			{ ...report, exchangeRecreated: false },
			{ exchange: 'openstack', reconciliation: true },
		);
		expect(notice.description).toContain('the broker restarted');
		expect(notice.description).toContain('Reconciliation with ESI Leap');
		expect(notice.description).not.toContain('Turn on');
		expect(notice.recoveredByReconciliation).toBe(true);
	});
});
