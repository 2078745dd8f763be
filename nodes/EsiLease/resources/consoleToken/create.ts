import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import { additionalFieldsCollection, asJson } from '../../helpers/fields';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('consoleToken', 'create', [
	locatorProperty('node', {
		name: 'nodeId',
		description: 'The Ironic node whose serial console to open',
	}),
	additionalFieldsCollection([
		{
			displayName: 'Token TTL (Seconds)',
			name: 'tokenTtlSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 600,
			description: 'How long the token is valid',
		},
	]),
]);

export const operation: EsiLeaseOperation = {
	requiredRole: "Ironic's permission to see the node (ESI Leap passes the project's token on)",
	async execute(client, itemIndex) {
		const fields = this.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;
		const { value } = readLocator(this, 'nodeId', itemIndex, 'node');
		const token = await client.createConsoleToken({
			nodeUuidOrName: value,
			tokenTtlSeconds: fields.tokenTtlSeconds as number | undefined,
		});
		return asJson(token);
	},
};
