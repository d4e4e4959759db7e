/**
 * A fuzz worker process: runs the cases the parent sends and reports each one before (so a crash or hang can be
 * pinned on it) and after it runs.
 */
import { caseBytes } from './cases.js';
import { runTarget } from './target.js';
import type { ChildMessage, ParentMessage } from './protocol.js';

const send = (m: ChildMessage) => process.send!(m);

process.on('message', (msg: ParentMessage) => {
  if (msg.type === 'stop') process.exit(0);
  for (let i = msg.from; i < msg.to; i++) {
    send({ type: 'start', index: i });
    const outcome = runTarget(caseBytes(msg.seed, i));
    send({ type: 'done', index: i, outcome });
  }
  send({ type: 'idle' });
});
send({ type: 'ready' });
