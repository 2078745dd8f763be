import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { scoped } from '../../../shared/scoped';
import {
	asJson,
	projectField,
	RESOURCE_TYPE_OPTIONS,
	returnAllFields,
	timeField,
} from '../../helpers/fields';
import { limitResults, readText, readTime, requireOrdered } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

const STATUS_OPTIONS = [
	{ name: 'Any', value: 'any', description: 'Every status, including deleted and expired' },
	{ name: 'Available', value: 'available' },
	{ name: 'Deleted', value: 'deleted' },
	{ name: 'Error', value: 'error' },
	{ name: 'Expired', value: 'expired' },
];

export const description: INodeProperties[] = scoped('offer', 'getAll', [
	...returnAllFields(),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			timeField(
				'availableEndTime',
				'Available End Time',
				'End of a window the offer must be free over. Needs Available Start Time.',
			),
			timeField(
				'availableStartTime',
				'Available Start Time',
				'Start of a window the offer must be free over (no created or active lease in it). Needs Available End Time.',
			),
			timeField(
				'endTime',
				'End Time',
				"End of a window the offer's own start and end must contain. Needs Start Time.",
			),
			projectField('projectId', 'Owner Project', 'Only offers created by this project'),
			{
				displayName: 'Resource Class',
				name: 'resourceClass',
				type: 'string',
				default: '',
				description: 'Only offers of nodes of this resource class',
			},
			{
				displayName: 'Resource Type',
				name: 'resourceType',
				type: 'options',
				options: RESOURCE_TYPE_OPTIONS,
				default: 'ironic_node',
				description: 'Only offers of this kind of node',
			},
			{
				displayName: 'Resource UUID',
				name: 'resourceUuid',
				type: 'string',
				default: '',
				description:
					'Only offers of this node (UUID, or Ironic name). Without Resource Type, ESI Leap assumes its default type.',
			},
			timeField(
				'startTime',
				'Start Time',
				"Start of a window the offer's own start and end must contain. Needs End Time.",
			),
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: STATUS_OPTIONS,
				default: 'any',
				description:
					'Only offers in this status. Without this filter ESI Leap returns available and error offers.',
			},
		],
	},
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'the admin, owner or lessee role (esi_leap:offer:get_all)',
	async execute(client, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
		const startTime = readTime(filters.startTime, this, 'startTime');
		const endTime = readTime(filters.endTime, this, 'endTime');
		const availableStartTime = readTime(filters.availableStartTime, this, 'availableStartTime');
		const availableEndTime = readTime(filters.availableEndTime, this, 'availableEndTime');
		requireOrdered(startTime, endTime, 'startTime', 'endTime');
		requireOrdered(availableStartTime, availableEndTime, 'availableStartTime', 'availableEndTime');
		const offers = await client.listOffers({
			projectId: readText(filters.projectId, 'projectId'),
			resourceType: readText(filters.resourceType, 'resourceType'),
			resourceUuid: readText(filters.resourceUuid, 'resourceUuid'),
			resourceClass: readText(filters.resourceClass, 'resourceClass'),
			startTime,
			endTime,
			availableStartTime,
			availableEndTime,
			status: readText(filters.status, 'status'),
		});
		return limitResults(this, itemIndex, offers).map(asJson);
	},
};
