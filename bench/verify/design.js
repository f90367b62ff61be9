// How Verify's method (src/core/verify.ts) was chosen and frozen, before any held-out task: simulated on the 34 tasks
// recorded before Verify existed (docs/quality-results.json's first 18 tfjs tasks, bench/torch-quality/results.json and
// results-holdout.json). A candidate's "held-out loss" is the grid's first training seed at that LR (interpolated in
// log LR); it is scored against the mean of the other seeds, so the seed that chose is not the one that scores.
// Usage: npx tsc -p . && node bench/verify/design.js
const path=require('path').resolve(__dirname,'../../out/src/core')+'/';
const {analyzeCurve,isSuggestion}=require(path+'analysis.js');
const {recommend,findEdge}=require(path+'recommend.js');
const fs=require('fs');
const tasks=[];
const tf=JSON.parse(fs.readFileSync(require('path').resolve(__dirname,'../../docs/quality-results.json')));
for(const t of tf.tasks.filter((x)=>!x.set||x.set==='design')){const g=t.grids.onecycle; tasks.push({name:'tfjs:'+t.name,curve:t.curves[0],curves:t.curves,sweep:t.sweep,lrs:g.lrs,scores:g.scores});}
for(const f of ['results.json','results-holdout.json']){const d=JSON.parse(fs.readFileSync(require('path').resolve(__dirname,'../torch-quality',f)));
 for(const [n,t] of Object.entries(d.tasks)) tasks.push({name:'torch:'+n,curve:t.curves[0],curves:t.curves,sweep:{startLr:1e-7,endLr:10,numIter:100,smoothing:.98,stopFactor:4},lrs:t.grid.lrs,scores:t.grid.scores});}
function interp(xs,vs,lr){const x=Math.log10(lr);const L=xs.map(Math.log10);if(!(x>L[0]))return vs[0];if(x>=L[L.length-1])return vs[vs.length-1];let i=0;while(L[i+1]<x)i++;const f=(x-L[i])/(L[i+1]-L[i]);return vs[i]+f*(vs[i+1]-vs[i]);}
function est(curve,sweep){const a=analyzeCurve(curve.lrs,curve.losses,sweep);const e=[];for(const n of ['valley','slide','minimum','steep']){const s=a.suggestions[n];if(isSuggestion(s))e.push(s.lr);}
 const edge=findEdge(curve.lrs,curve.losses,a);const r=recommend(curve.lrs,curve.losses,a);if('lr' in edge)e.push(edge.lr/3);return {e,edge:'lr' in edge?edge.lr:undefined,rec:r.lr};}

const V=require(path+'verify.js');
var med=a=>{const s=a.slice().sort((x,y)=>x-y);const m=s.length>>1;return s.length%2?s[m]:(s[m-1]+s[m])/2};
const rows=[];
for(const t of tasks){const E=est(t.curve,t.sweep);const sel=t.scores.map(r=>r[0]);
 const other=t.scores.map(r=>r.slice(1).reduce((a,b)=>a+b,0)/(r.length-1));const all=t.scores.map(r=>r.reduce((a,b)=>a+b,0)/r.length);
 const res=[];for(let g=0;g<20;g++){const n=V.nextCandidates(E.rec,res);if(!n.length)break;for(const lr of n)res.push({lr,seed:0,loss:interp(t.lrs,sel,lr),diverged:false,steps:250,signal:'held-out'});}
 const c=V.chooseVerified(E.rec,res);const v='lr' in c?c:{lr:E.rec,candidates:V.summarize(res)}; // nothing measured: the recommendation stands
 rows.push({name:t.name,n:v.candidates.length,edge:v.atEdge,regO:interp(t.lrs,other,v.lr)/Math.min(...other)-1,regA:interp(t.lrs,all,v.lr)/Math.min(...all)-1,recA:interp(t.lrs,all,E.rec)/Math.min(...all)-1,recO:interp(t.lrs,other,E.rec)/Math.min(...other)-1});}
const fmt=a=>`${(100*med(a)).toFixed(1)}% / ${(100*Math.max(...a)).toFixed(0)}% (≤10%: ${a.filter(x=>x<=.1).length}/${a.length})`;
for(const [lab,sl] of [['tfjs 18',rows.slice(0,18)],['torch 16',rows.slice(18)],['all 34',rows]]){
console.log(lab,'verified(other seeds)',fmt(sl.map(r=>r.regO)),'| verified(all seeds)',fmt(sl.map(r=>r.regA)),'| rec(all)',fmt(sl.map(r=>r.recA)),'| trainings median',med(sl.map(r=>r.n)),'max',Math.max(...sl.map(r=>r.n)),'edge',sl.filter(r=>r.edge).length);}
for(const r of rows) if(r.regO>0.3) console.log(r);
