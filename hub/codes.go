package hub

// Code is a Contact ID event code (SIA DC-05), the three digits a receiving centre
// acts on.
type Code int

// The Contact ID codes the core reports.
const (
	CodeFire          Code = 110 // fire alarm
	CodePanic         Code = 120 // audible panic
	CodeDuress        Code = 121 // duress code used
	CodeSilentPanic   Code = 122 // silent panic
	CodeBurglary      Code = 130 // burglary, generic
	CodePerimeter     Code = 131 // perimeter burglary
	CodeInterior      Code = 132 // interior burglary
	CodeEntryExit     Code = 134 // entry/exit burglary
	CodeVerified      Code = 139 // burglary verified by a second detector
	CodeWater         Code = 154 // water leakage
	CodeCO            Code = 162 // carbon monoxide
	CodeSystemTrouble Code = 300 // system trouble: the journal cannot be written
	CodeACLoss        Code = 301 // AC loss: a power supply's mains is off
	CodeLowSysBattery Code = 302 // low system battery
	CodeRelayTrouble  Code = 320 // sounder/relay trouble
	CodePeripheral    Code = 330 // system peripheral trouble: a power input's line
	CodeSystemReset   Code = 305 // system reset: the hub restarted
	CodeBellTrouble   Code = 321 // bell (siren) trouble
	CodeCommTrouble   Code = 350 // communication trouble: the external MQTT broker is unreachable
	CodeCommFailure   Code = 354 // failure to communicate with the centre
	CodeFireTrouble   Code = 373 // fire loop trouble: a smoke detector stuck active
	CodeSensorTrouble Code = 380 // sensor trouble: a life-safety detector stuck active
	CodeSupervision   Code = 381 // loss of supervision: a device is offline
	CodeSensorTamper  Code = 383 // sensor tamper
	CodeLowBattery    Code = 384 // low battery in a wireless device
	CodeOpenClose     Code = 401 // opening (disarm) / closing (arm) by a user
	CodeCancel        Code = 406 // alarm cancelled by a user
	CodeExceptionOC   Code = 450 // exception closing: armed by force past an uplink fault
	CodeWrongCode     Code = 461 // wrong code entry: lockout
	CodeBypass        Code = 570 // zone bypass
	CodeManualTest    Code = 601 // manual test report
	CodePeriodicTest  Code = 602 // periodic test report
)
