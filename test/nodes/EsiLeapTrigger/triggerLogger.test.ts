import { describe, expect, it } from 'vitest';

import { triggerLogger } from '../../../nodes/EsiLeapTrigger/context';
import { createFakeTrigger } from '../../helpers/triggerContext';

const FERNET = `gAAAAAB${'x'.repeat(60)}`;

function logger() {
	const fake = createFakeTrigger({
		parameters: {},
		workflowId: 'wf-42',
		node: { name: 'Lease ended' },
	});
	return { fake, log: triggerLogger(fake.context) };
}

describe('triggerLogger', () => {
	it('names node and workflow (id and name) in the text and the metadata of every level', () => {
		const { fake, log } = logger();
		log.debug('a');
		log.info('b', { count: 2 });
		log.warn('c');
		log.error('d');
		expect(fake.logs.map((line) => [line.level, line.message])).toEqual([
			['debug', 'ESI Leap Trigger "Lease ended" (workflow "Test workflow", id wf-42): a'],
			['info', 'ESI Leap Trigger "Lease ended" (workflow "Test workflow", id wf-42): b'],
			['warn', 'ESI Leap Trigger "Lease ended" (workflow "Test workflow", id wf-42): c'],
			['error', 'ESI Leap Trigger "Lease ended" (workflow "Test workflow", id wf-42): d'],
		]);
		for (const line of fake.logs) {
			expect(line.meta).toMatchObject({
				workflowId: 'wf-42',
				workflowName: 'Test workflow',
				node: 'Lease ended',
			});
		}
		expect(fake.logs[1].meta).toMatchObject({ count: 2 });
	});

	it('puts a failure reason (error or reason) into the text, redacted', () => {
		const { fake, log } = logger();
		log.warn('Event history poll failed; retrying on the next tick', {
			consecutiveFailures: 1,
			error: `Keystone said no; X-Auth-Token: ${FERNET}`,
		});
		log.warn('Dead-lettered a message after its retries', { reason: 'password=hunter22 bad' });
		log.error('Could not settle', { error: new Error(`token ${FERNET}`) });
		expect(fake.logs.map((line) => line.message.replace(/^.*?\): /, ''))).toEqual([
			'Event history poll failed; retrying on the next tick: Keystone said no; X-Auth-Token: ***',
			'Dead-lettered a message after its retries: password=*** bad',
			'Could not settle: token ***',
		]);
		expect(fake.logs[0].meta).toMatchObject({ consecutiveFailures: 1 });
		const everything = JSON.stringify(fake.logs);
		expect(everything).not.toContain(FERNET);
		expect(everything).not.toContain('hunter22');
	});

	it('redacts secrets nested in metadata objects', () => {
		const { fake, log } = logger();
		log.info('stats', { headers: { 'x-auth-token': FERNET }, token: 7 });
		expect(JSON.stringify(fake.logs)).not.toContain(FERNET);
	});
});
