/** Audit record types the reconciler writes in the background (not caused by any activity under test). */
export const BACKGROUND_AUDIT_TYPES = ['baseline_recorded', 'drift_detected', 'drift_removed', 'reconciled'];

export const isBackground = (record: { type: string }): boolean =>
  BACKGROUND_AUDIT_TYPES.includes(record.type);
