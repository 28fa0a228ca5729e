// Browser scenarios: server rendering and React (issue 16): s1–s*.
export const ssrScenarios = []
