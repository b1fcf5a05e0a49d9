"""Assessment logic shared by the kiosk, paper entry and the demo: schedule, answers, completion."""
