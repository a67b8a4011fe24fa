"""The console core: session, acquisition, timers, alarms, notes, audio control. No Qt widgets."""
