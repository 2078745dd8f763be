import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import {
	additionalFieldsCollection,
	asJson,
	nameField,
	projectField,
	propertiesField,
	purposeField,
	resourceTypeField,
	timeField,
} from '../../helpers/fields';
import { readNewRecordFields, readPurpose, requireText } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('lease', 'create', [
	resourceTypeField(),
	locatorProperty('node', {
		displayName: 'Node',
		name: 'resourceUuid',
		description: 'The node to lease directly (without an offer). You must own it, or be admin.',
	}),
	{
		...projectField('projectId', 'Lessee Project', 'The project that receives the lease'),
		required: true,
	},
	additionalFieldsCollection([
		timeField(
			'endTime',
			'End Time',
			'When the lease ends (default: 7 days after the start; at most 21 days unless admin)',
		),
		nameField('Name of the lease'),
		propertiesField('Free-form properties stored with the lease'),
		purposeField,
		timeField('startTime', 'Start Time', 'When the lease starts (default: now)'),
	]),
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'the admin or owner role (esi_leap:lease:create), and to own the node unless admin',
	async execute(client, itemIndex) {
		const { fields, common } = readNewRecordFields(this, itemIndex);
		const lease = await client.createLease({
			resourceType: this.getNodeParameter('resourceType', itemIndex) as string,
			resourceUuid: readLocator(this, 'resourceUuid', itemIndex, 'node').value,
			projectId: requireText(this.getNodeParameter('projectId', itemIndex), 'projectId'),
			...common,
			purpose: readPurpose(fields),
		});
		return asJson(lease);
	},
};
