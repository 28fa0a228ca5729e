// Browser scenarios: the cookie tier (issue 14): c1–c8.
export const cookieScenarios = []
