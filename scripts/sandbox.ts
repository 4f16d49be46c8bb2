// `npm run sandbox`: simulator + bot + Agents Playground. Being built in the simulator issue.
console.log('The sandbox arrives with the simulator issue: for now, `npm start` runs the bot on embedded stores.');
