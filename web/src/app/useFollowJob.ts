import { useEffect } from 'react';
import type { Job } from '../services/api';
import { followJob } from '../services/concepts-api';

/**
 * Follows a queued or running job until it ends: `onUpdate` gets every state, `onEnd` the last one; a failed job
 * becomes an error. Each job is followed once (keyed by its id), and no longer when the view goes away.
 */
export function useFollowJob(job: Job | undefined, onUpdate: (j: Job) => void, onEnd: (j: Job) => void, onError: (e: unknown) => void): void {
  useEffect(() => {
    if (!job || (job.state !== 'queued' && job.state !== 'running')) return;
    const ctl = new AbortController();
    followJob(job.id, onUpdate, ctl.signal).then((j) => {
      if (j.state === 'failed') onError(new Error(j.error || 'the job failed'));
      onEnd(j);
    }, onError);
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job?.id]);
}
