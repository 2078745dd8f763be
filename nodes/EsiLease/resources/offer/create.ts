import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import {
	asJson,
	nameField,
	projectField,
	propertiesField,
	resourceTypeField,
	timeField,
} from '../../helpers/fields';
import { readJsonObject, readText, readTime, requireOrdered } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('offer', 'create', [
	resourceTypeField(),
	locatorProperty('node', {
		displayName: 'Node',
		name: 'resourceUuid',
		description: 'The node to offer. You must own it (or lease it, for a sub-offer), or be admin.',
	}),
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		options: [
			timeField('endTime', 'End Time', 'When the offer ends (default: never)'),
			projectField(
				'lesseeId',
				'Lessee Project',
				'Only this project (and its sub-projects) may see and claim the offer',
			),
			nameField('Name of the offer'),
			propertiesField('Free-form properties stored with the offer'),
			timeField('startTime', 'Start Time', 'When the offer starts (default: now)'),
		],
	},
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'the admin or owner role (esi_leap:offer:create), and to own the node unless admin',
	async execute(client, itemIndex) {
		const fields = this.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;
		const startTime = readTime(fields.startTime, this, 'startTime');
		const endTime = readTime(fields.endTime, this, 'endTime');
		requireOrdered(startTime, endTime, 'startTime', 'endTime');
		const offer = await client.createOffer({
			resourceType: this.getNodeParameter('resourceType', itemIndex) as string,
			resourceUuid: readLocator(this, 'resourceUuid', itemIndex, 'node').value,
			name: readText(fields.name, 'name', 35),
			lesseeId: readText(fields.lesseeId, 'lesseeId'),
			startTime,
			endTime,
			properties: readJsonObject(fields.properties, 'properties'),
		});
		return asJson(offer);
	},
};
