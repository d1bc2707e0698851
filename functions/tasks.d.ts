/**
 * `@fanfold/tasks` is the user's tasks module: the `Fanfold` CDK construct aliases this specifier
 * to it when it bundles the functions, so each Lambda carries exactly the tasks it may run.
 */
declare module '@fanfold/tasks' {
  const tasks: import('../src/api/tasks.js').TaskRegistry;
  export default tasks;
}
