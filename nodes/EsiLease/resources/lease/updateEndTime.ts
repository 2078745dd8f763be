import type { INodeProperties } from 'n8n-workflow';

import { invalidParameter, locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import { asJson, timeField } from '../../helpers/fields';
import { readTime } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('lease', 'updateEndTime', [
	locatorProperty('lease', { name: 'leaseId', description: 'The lease to shorten or extend' }),
	timeField('endTime', 'End Time', 'The new end of the lease (sent to the second)', {
		required: true,
	}),
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'the admin role (esi_leap:lease:update)',
	async execute(client, itemIndex) {
		const { value } = readLocator(this, 'leaseId', itemIndex, 'lease');
		const endTime = readTime(this.getNodeParameter('endTime', itemIndex), this, 'endTime');
		if (!endTime) throw invalidParameter('endTime', 'is required');
		return asJson(await client.updateLeaseEndTime(value, endTime));
	},
};
