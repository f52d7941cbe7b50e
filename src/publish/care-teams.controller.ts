import { Controller, Delete, HttpCode, Param, Put, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { encodeControl } from '../core/control-commands.js';
import { isOpaqueId } from '../core/opaque-id.js';
import { Bus } from '../fanout/bus.js';
import { ApiError, unavailableOnFailure } from '../http/api-error.js';
import { NO_BODY } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { CareTeamStore } from '../stores/care-team-store/care-team-store.js';
import { publisherOf, PublisherSignatureGuard } from './publisher-signature.guard.js';

/**
 * `PUT|DELETE /internal/v1/care-teams/<patientId>/members/<doctorId>` (contract §5). A removal
 * is broadcast to every node, which re-evaluates that doctor's live subscriptions to the
 * patient's channel and revokes those the policy no longer allows.
 */
@Controller('internal/v1/care-teams/:patientId/members/:doctorId')
@UseGuards(PublisherSignatureGuard)
export class CareTeamsController {
  constructor(
    private readonly store: CareTeamStore,
    private readonly bus: Bus,
    private readonly audit: AuditService,
  ) {}

  @Put()
  @HttpCode(204)
  @ResponseShape(NO_BODY)
  async add(
    @Param('patientId') patient: string,
    @Param('doctorId') doctor: string,
    @Req() req: Request,
  ) {
    validate(patient, doctor);
    await unavailableOnFailure(this.store.add(patient, doctor));
    this.record('careteam.added', patient, doctor, req);
  }

  @Delete()
  @HttpCode(204)
  @ResponseShape(NO_BODY)
  async remove(
    @Param('patientId') patient: string,
    @Param('doctorId') doctor: string,
    @Req() req: Request,
  ) {
    validate(patient, doctor);
    await unavailableOnFailure(this.store.remove(patient, doctor));
    // Broadcast even when the doctor was not a member: a retried DELETE must still revoke.
    await unavailableOnFailure(
      this.bus.publishControl(encodeControl({ type: 'careteam.removed', patient, doctor })),
    );
    this.record('careteam.removed', patient, doctor, req);
  }

  /** `channel` is the patient's channel and `reason` the doctor's user key: ids, never names. */
  private record(
    event: 'careteam.added' | 'careteam.removed',
    patient: string,
    doctor: string,
    req: Request,
  ) {
    this.audit.record({
      event,
      outcome: 'ok',
      reason: `doctor:${doctor}`,
      actor: `service:${publisherOf(req)}`,
      channel: `patient:${patient}`,
    });
  }
}

function validate(patient: string, doctor: string): void {
  const fields = [
    ...(isOpaqueId(patient) ? [] : ['patientId']),
    ...(isOpaqueId(doctor) ? [] : ['doctorId']),
  ];
  if (fields.length > 0) throw new ApiError('invalid_payload', {}, fields);
}
