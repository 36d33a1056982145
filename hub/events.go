package hub

// EventType names what happened; it is how events are filtered and shown.
type EventType string

// Event types.
const (
	EvAccessDenied        EventType = "access_denied"
	EvAlarm               EventType = "alarm"
	EvAlarmCancel         EventType = "alarm_cancel"
	EvAlarmConfirmed      EventType = "alarm_confirmed"
	EvAlarmReportWithheld EventType = "alarm_report_withheld"
	EvAlarmReported       EventType = "alarm_reported"
	EvAlarmUnconfirmed    EventType = "alarm_unconfirmed"
	EvArmForced           EventType = "arm_forced"
	EvArmRefused          EventType = "arm_refused"
	EvArmed               EventType = "armed"
	EvArming              EventType = "arming"
	EvCodeRefusedLocked   EventType = "code_refused_locked"
	EvCodeRejected        EventType = "code_rejected"
	EvCommandDenied       EventType = "command_denied"
	EvDisarmed            EventType = "disarmed"
	EvDuress              EventType = "duress"
	EvEntryDelay          EventType = "entry_delay"
	EvFault               EventType = "fault"
	EvFaultRestore        EventType = "fault_restore"
	EvLockout             EventType = "lockout"
	EvLockoutEnd          EventType = "lockout_end"
	EvMaintenanceEnd      EventType = "maintenance_end"
	EvMaintenanceStart    EventType = "maintenance_start"
	EvPanic               EventType = "panic"
	EvRestart             EventType = "restart"
	EvSilentPanic         EventType = "silent_panic"
	EvSirenCutoff         EventType = "siren_cutoff"
	EvSwingerShutdown     EventType = "swinger_shutdown"
	EvTamper              EventType = "tamper"
	EvTamperRestore       EventType = "tamper_restore"
	EvWalkTestEnd         EventType = "walk_test_end"
	EvWalkTestStart       EventType = "walk_test_start"
	EvWalkTestTamper      EventType = "walk_test_tamper"
	EvWalkTestZone        EventType = "walk_test_zone"
	EvDeviceOffline       EventType = "device_offline"
	EvDeviceOnline        EventType = "device_online"
	EvLowBattery          EventType = "low_battery"
	EvBatteryOk           EventType = "battery_ok"
	EvZoneOpen            EventType = "zone_open"
	EvZoneClosed          EventType = "zone_closed"
	EvStorageEventsLost   EventType = "storage_events_lost"
	EvBypass              EventType = "bypass"
	EvUnbypass            EventType = "unbypass"
	EvIsolate             EventType = "isolate"
	EvUnisolate           EventType = "unisolate"
	EvManualTest          EventType = "manual_test"
	EvPeriodicTest        EventType = "periodic_test"
	EvFaultReported       EventType = "fault_reported" // a delayed fault report (mains) went out
	EvSelfTest            EventType = "self_test"      // the result of a guided self-test
	EvConfigChanged       EventType = "config_changed" // the configuration was changed while running (Hub.ChangeConfig)
	EvRestored            EventType = "restored"       // the database was put back from a backup (the web app's restore)
	EvCameraView          EventType = "camera_view"    // a live view of a camera ended: who, which camera, how long
)
