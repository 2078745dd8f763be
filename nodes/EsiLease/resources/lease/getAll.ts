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
	{ name: 'Active', value: 'active' },
	{ name: 'Any', value: 'any', description: 'Every status, including deleted and expired' },
	{ name: 'Created', value: 'created' },
	{ name: 'Deleted', value: 'deleted' },
	{ name: 'Error', value: 'error' },
	{ name: 'Expired', value: 'expired' },
	{ name: 'Wait Cancel', value: 'wait cancel' },
	{ name: 'Wait Expire', value: 'wait expire' },
	{ name: 'Wait Fulfill', value: 'wait fulfill' },
];

export const description: INodeProperties[] = scoped('lease', 'getAll', [
	...returnAllFields(),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			{
				displayName: 'All Projects',
				name: 'viewAll',
				type: 'boolean',
				default: false,
				description:
					"Whether to list every project's leases (view=all; admin only). Otherwise the leases this project owns or leases.",
			},
			timeField(
				'endTime',
				'End Time',
				'End of a time window: leases overlapping [Start Time, End Time]. Needs Start Time.',
			),
			{
				displayName: 'Offer UUID',
				name: 'offerUuid',
				type: 'string',
				default: '',
				description: 'Only leases made by claiming this offer',
			},
			projectField(
				'ownerId',
				'Owner Project',
				'Only leases owned by this project (another project needs admin)',
			),
			projectField(
				'projectId',
				'Lessee Project',
				'Only leases held by this project (another project needs admin)',
			),
			{
				displayName: 'Resource Class',
				name: 'resourceClass',
				type: 'string',
				default: '',
				description: 'Only leases of nodes of this resource class',
			},
			{
				displayName: 'Resource Type',
				name: 'resourceType',
				type: 'options',
				options: RESOURCE_TYPE_OPTIONS,
				default: 'ironic_node',
				description: 'Only leases of this kind of node',
			},
			{
				displayName: 'Resource UUID',
				name: 'resourceUuid',
				type: 'string',
				default: '',
				description:
					'Only leases of this node (UUID, or Ironic name). Without Resource Type, ESI Leap assumes its default type.',
			},
			timeField(
				'startTime',
				'Start Time',
				'Start of a time window: leases overlapping [Start Time, End Time]. Needs End Time.',
			),
			{
				displayName: 'Status',
				name: 'status',
				type: 'options',
				options: STATUS_OPTIONS,
				default: 'any',
				description:
					'Only leases in this status. Without this filter ESI Leap returns the live ones (created, active, error, wait *).',
			},
		],
	},
]);

export const operation: EsiLeaseOperation = {
	requiredRole:
		"the admin, owner or lessee role (esi_leap:lease:get_all), and the admin role for other projects' leases or All Projects",
	async execute(client, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
		const startTime = readTime(filters.startTime, this, 'startTime');
		const endTime = readTime(filters.endTime, this, 'endTime');
		requireOrdered(startTime, endTime, 'startTime', 'endTime');
		const leases = await client.listLeases({
			projectId: readText(filters.projectId, 'projectId'),
			ownerId: readText(filters.ownerId, 'ownerId'),
			status: readText(filters.status, 'status'),
			startTime,
			endTime,
			offerUuid: readText(filters.offerUuid, 'offerUuid'),
			view: filters.viewAll === true ? 'all' : undefined,
			resourceType: readText(filters.resourceType, 'resourceType'),
			resourceUuid: readText(filters.resourceUuid, 'resourceUuid'),
			resourceClass: readText(filters.resourceClass, 'resourceClass'),
		});
		return limitResults(this, itemIndex, leases).map(asJson);
	},
};
