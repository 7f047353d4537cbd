-- Mart 3: driving symptoms per car for the day. Pedal averages are labelled abnormal when their
-- z-score (population standard deviation of the per-car averages) exceeds 2 in absolute value;
-- sharp steering (L2, L3, R2, R3) is abnormal above 2000 records in the day. A zero standard
-- deviation (every car alike) labels everyone normal instead of dividing by zero.
CREATE TABLE IF NOT EXISTS Managed_SmartCar_Symptom_Info (
  car_number string,
  speed_p_avg double, speed_p_symptom_score string,
  break_p_avg double, break_p_symptom_score string,
  steer_a_cnt bigint, steer_p_symptom_score string)
PARTITIONED BY (biz_date string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE Managed_SmartCar_Symptom_Info PARTITION (biz_date = '${working_day}')
SELECT car_number,
       speed_p_avg,
       CASE WHEN speed_p_std = 0 THEN 'normal'
            WHEN abs(speed_p_avg - speed_p_mean) / speed_p_std > 2 THEN 'abnormal'
            ELSE 'normal' END AS speed_p_symptom_score,
       break_p_avg,
       CASE WHEN break_p_std = 0 THEN 'normal'
            WHEN abs(break_p_avg - break_p_mean) / break_p_std > 2 THEN 'abnormal'
            ELSE 'normal' END AS break_p_symptom_score,
       steer_a_cnt,
       CASE WHEN steer_a_cnt > 2000 THEN 'abnormal' ELSE 'normal' END AS steer_p_symptom_score
FROM (
  SELECT car_number, speed_p_avg, break_p_avg, steer_a_cnt,
         avg(speed_p_avg) OVER () AS speed_p_mean,
         stddev_pop(speed_p_avg) OVER () AS speed_p_std,
         avg(break_p_avg) OVER () AS break_p_mean,
         stddev_pop(break_p_avg) OVER () AS break_p_std
  FROM (
    SELECT car_number,
           avg(cast(speed_pedal AS double)) AS speed_p_avg,
           avg(cast(break_pedal AS double)) AS break_p_avg,
           sum(CASE WHEN steer_angle IN ('L2', 'L3', 'R2', 'R3') THEN 1 ELSE 0 END) AS steer_a_cnt
    FROM Managed_SmartCar_Drive_Info
    WHERE biz_date = '${working_day}'
    GROUP BY car_number
  ) per_car
) scored;
