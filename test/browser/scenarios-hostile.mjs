// Browser scenarios: hostile networks, skewed clocks and restricted pages (issue 13): n1–n6.
export const hostileScenarios = []
