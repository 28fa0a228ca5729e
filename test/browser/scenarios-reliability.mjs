// Browser scenarios: data safety (issue 12): r1–r10 and the crash test rc.
export const reliabilityScenarios = []
