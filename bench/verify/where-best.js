// Where the best one-cycle peak LR lies relative to the curve's minimum and its steepest slope, on every task with a
// trained grid (tfjs: docs/quality-results.json; PyTorch: bench/torch-quality/results*.json). The measured answer to
// "why the steepest slope, not the minimum?". Usage: npx tsc -p . && node bench/verify/where-best.js
const {analyzeCurve,isSuggestion}=require(require('path').resolve(__dirname,'../../out/src/core/analysis.js'));
const fs=require('fs');
const d=JSON.parse(fs.readFileSync(require('path').resolve(__dirname,'../../docs/quality-results.json')));
const rows=[];
const add=(name,curve,sweep,lrs,scores)=>{const a=analyzeCurve(curve.lrs,curve.losses,sweep);const mp=a.suggestions.minimumPoint,st=a.suggestions.steepest;if(!isSuggestion(mp)||!isSuggestion(st))return;
 const mean=scores.map(r=>r.reduce((x,y)=>x+y,0)/r.length);const best=lrs[mean.indexOf(Math.min(...mean))];rows.push({name,dMin:Math.log10(best/mp.lr),dSt:Math.log10(best/st.lr)});};
for(const t of d.tasks) add('tfjs:'+t.name,t.curves[0],t.sweep,t.grids.onecycle.lrs,t.grids.onecycle.scores);
for(const f of ['results.json','results-holdout.json','results-verify.json']){const r=JSON.parse(fs.readFileSync(require('path').resolve(__dirname,'../torch-quality',f)));for(const [n,t] of Object.entries(r.tasks)) add('torch:'+n,t.curves[0],{startLr:1e-7,endLr:10,numIter:100,smoothing:.98,stopFactor:4},t.grid.lrs,t.grid.scores);}
const med=a=>{const s=a.slice().sort((x,y)=>x-y);const m=s.length>>1;return s.length%2?s[m]:(s[m-1]+s[m])/2};
const dm=rows.map(r=>r.dMin),ds=rows.map(r=>r.dSt);
console.log('tasks',rows.length,'best vs minimum point: median',med(dm).toFixed(2),'decades; above the minimum on',dm.filter(x=>x>0).length,'; within 0.25 dec:',dm.filter(x=>Math.abs(x)<=0.25).length);
console.log('best vs steepest: median',med(ds).toFixed(2),'; within 0.5 dec',ds.filter(x=>Math.abs(x)<=0.5).length,'; range',Math.min(...ds).toFixed(2),Math.max(...ds).toFixed(2));
console.log('best vs min range',Math.min(...dm).toFixed(2),Math.max(...dm).toFixed(2), 'below min by >=0.5 dec:',dm.filter(x=>x<=-0.5).length);
