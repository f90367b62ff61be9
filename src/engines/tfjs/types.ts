/** Names shared by the config (core) and the engine (tfjs). Pure. */

export type LossName =
  | 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | 'binaryCrossentropy'
  | 'meanSquaredError' | 'meanAbsoluteError' | 'huber';

export type OptimizerName = 'sgd' | 'adam' | 'rmsprop' | 'adagrad' | 'adamax';

export interface OptimizerSpec {
  name: OptimizerName;
  learningRate: number;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  rho?: number;
  decay?: number;
  centered?: boolean;
  initialAccumulatorValue?: number;
}
