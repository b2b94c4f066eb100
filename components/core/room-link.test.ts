import { expect } from '@open-wc/testing';
import { Silence } from './room-link.js';

// A pure unit: the clock is passed in. The room socket itself is tested against a real server in test/e2e/rooms.test.ts.
describe('Silence (how long the room service has not answered)', () => {
  it('grows by the time the page ran, and an answer ends it', () => {
    const s = new Silence(1000, 0);
    expect(s.tick(1000)).to.equal(1000);
    expect(s.tick(2000)).to.equal(2000);
    s.heard(2100);
    expect(s.tick(3000)).to.equal(900);
    expect(s.tick(4000)).to.equal(1900);
    expect(s.tick(5000)).to.equal(2900);
    expect(s.tick(6000)).to.equal(3900);
  });

  it('does not count the time the page did not run: stalls of 0.9 s between answers do not add up to a lost server', () => {
    const s = new Silence(1000, 0);
    let now = 0;
    let worst = 0;
    // Twelve ticks, each 900 ms late (the machine stalled); the server answers only every third tick, as it stalls too.
    for (let i = 1; i <= 12; i++) {
      now += 1900;
      worst = Math.max(worst, s.tick(now));
      if (i % 3 === 0) s.heard(now + 5);
    }
    // Wall-clock silence reached 5.7 s; the page ran 3 s of it.
    expect(worst).to.equal(3000);
  });

  it('a real silence is not excused: on-time ticks reach the timeout whatever stalled before', () => {
    const s = new Silence(1000, 0);
    expect(s.tick(5000)).to.equal(1000); // one long stall: 4 s late, all excused
    expect(s.tick(6000)).to.equal(2000);
    expect(s.tick(7000)).to.equal(3000);
    expect(s.tick(8000)).to.equal(4000);
  });

  it('small timer jitter is not taken for a stall', () => {
    const s = new Silence(1000, 0);
    expect(s.tick(1200)).to.equal(1200);
    expect(s.tick(2400)).to.equal(2400);
  });
});
