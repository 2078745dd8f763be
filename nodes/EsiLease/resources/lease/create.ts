import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import {
	asJson,
	nameField,
	projectField,
	propertiesField,
	purposeField,
	resourceTypeField,
	timeField,
} from '../../helpers/fields';
import {
	readJsonObject,
	readText,
	readTime,
	requireOrdered,
	requireText,
} from '../../helpers/parameters';
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
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		options: [
			timeField(
				'endTime',
				'End Time',
				'When the lease ends (default: 7 days after the start; at most 21 days unless admin)',
			),
			nameField('Name of the lease'),
			propertiesField('Free-form properties stored with the lease'),
			purposeField,
			timeField('startTime', 'Start Time', 'When the lease starts (default: now)'),
		],
	},
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'the admin or owner role (esi_leap:lease:create), and to own the node unless admin',
	async execute(client, itemIndex) {
		const fields = this.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;
		const startTime = readTime(fields.startTime, this, 'startTime');
		const endTime = readTime(fields.endTime, this, 'endTime');
		requireOrdered(startTime, endTime, 'startTime', 'endTime');
		const lease = await client.createLease({
			resourceType: this.getNodeParameter('resourceType', itemIndex) as string,
			resourceUuid: readLocator(this, 'resourceUuid', itemIndex, 'node').value,
			projectId: requireText(this.getNodeParameter('projectId', itemIndex), 'projectId'),
			name: readText(fields.name, 'name', 35),
			startTime,
			endTime,
			properties: readJsonObject(fields.properties, 'properties'),
			purpose: readText(fields.purpose, 'purpose', 255),
		});
		return asJson(lease);
	},
};
