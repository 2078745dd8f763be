import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import {
	additionalFieldsCollection,
	asJson,
	nameField,
	projectField,
	propertiesField,
	resourceTypeField,
	timeField,
} from '../../helpers/fields';
import { readNewRecordFields, readText } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('offer', 'create', [
	resourceTypeField(),
	locatorProperty('node', {
		displayName: 'Node',
		name: 'resourceUuid',
		description: 'The node to offer. You must own it (or lease it, for a sub-offer), or be admin.',
	}),
	additionalFieldsCollection([
		timeField('endTime', 'End Time', 'When the offer ends (default: never)'),
		projectField(
			'lesseeId',
			'Lessee Project',
			'Only this project (and its sub-projects) may see and claim the offer',
		),
		nameField('Name of the offer'),
		propertiesField('Free-form properties stored with the offer'),
		timeField('startTime', 'Start Time', 'When the offer starts (default: now)'),
	]),
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'the admin or owner role (esi_leap:offer:create), and to own the node unless admin',
	async execute(client, itemIndex) {
		const { fields, common } = readNewRecordFields(this, itemIndex);
		const offer = await client.createOffer({
			resourceType: this.getNodeParameter('resourceType', itemIndex) as string,
			resourceUuid: readLocator(this, 'resourceUuid', itemIndex, 'node').value,
			...common,
			lesseeId: readText(fields.lesseeId, 'lesseeId'),
		});
		return asJson(offer);
	},
};
