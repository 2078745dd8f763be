/**
 * `npm start`: the demo (see demo.ts) in the foreground until Ctrl-C. No configuration needed;
 * DEMO_* variables and AMQP_URL override the ports, folder, owner and broker (README, "Try it").
 */
import { demoOptionsFromEnv, startDemo, DEMO_QUEUE, withFreePorts } from './demo';
import { BUS_WORKFLOW_NAME, HISTORY_WORKFLOW_NAME } from './workflows';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
	const options = await withFreePorts(demoOptionsFromEnv(say));
	const demo = await startDemo(options);
	let stopping = false;
	const shutdown = () => {
		if (stopping) return;
		stopping = true;
		say('\nstopping n8n and the emulator, removing the demo queues and exchange from RabbitMQ ...');
		void demo.stop().then(
			() => process.exit(0),
			(error: Error) => {
				process.stderr.write(`stop failed: ${error.message}\n`);
				process.exit(1);
			},
		);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);

	const { leaseUuid } = await demo.runLifecycle();
	say(
		[
			'',
			'ESI Leap demo is running.',
			'',
			`  n8n editor   ${demo.editorUrl}`,
			`  login        ${options.owner.email} / ${options.owner.password}`,
			'',
			'  Active workflows (open them, then "Executions"):',
			`    ${BUS_WORKFLOW_NAME}   ${demo.editorUrl}/workflow/${demo.workflows.bus}/executions`,
			`    ${HISTORY_WORKFLOW_NAME}   ${demo.editorUrl}/workflow/${demo.workflows.history}/executions`,
			'',
			`  ESI Leap emulator   ${demo.esiUrl} (Keystone ${demo.keystoneUrl}, users admin/owner/lessee, password <user>-pass)`,
			`  RabbitMQ            exchange "openstack", the trigger's queue "${DEMO_QUEUE}"`,
			'',
			`  A lease lifecycle just ran (lease ${leaseUuid}); the emulator runs one every ${options.lifecycleEverySeconds} s.`,
			`  Run one now: curl -X POST ${demo.esiUrl}/_emulator/lifecycle`,
			`  n8n log: ${demo.n8n.logFile}`,
			'',
			'Ctrl-C stops everything.',
		].join('\n'),
	);
}

main().catch((error: Error) => {
	process.stderr.write(`npm start failed: ${error.message}\n`);
	process.exit(1);
});
