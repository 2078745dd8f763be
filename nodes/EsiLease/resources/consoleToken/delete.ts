import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('consoleToken', 'delete', [
	locatorProperty('node', {
		name: 'nodeId',
		description: 'The Ironic node whose console tokens to revoke',
	}),
]);

export const operation: EsiLeaseOperation = {
	requiredRole: "Ironic's permission to see the node (ESI Leap passes the project's token on)",
	async execute(client, itemIndex) {
		const { value } = readLocator(this, 'nodeId', itemIndex, 'node');
		await client.deleteConsoleToken(value);
		return { deleted: true, resource: 'consoleToken', node: value };
	},
};
