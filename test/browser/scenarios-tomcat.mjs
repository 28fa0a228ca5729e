// Browser scenarios: Java servlet sessions on Tomcat 10 (issue 17): j1–j*.
export const tomcatScenarios = []
